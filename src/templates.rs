//! Templates for pages and emails: built in, each overridable by a file of
//! the same name under `TEMPLATES_DIR` (e.g. `pages/signup.html`).
//!
//! Every template is compiled once at start-up, so a broken override stops
//! the service before it serves anything. `.html` templates escape every
//! value; text templates are never sent as HTML. `trim_blocks` and
//! `lstrip_blocks` are on.

use std::path::{Component, Path, PathBuf};

use minijinja::{Environment, Value};
use serde::Serialize;

/// (name, built-in source) of every template the program renders.
const BUILTIN: &[(&str, &str)] = &[
    ("pages/layout.html", include_str!("../templates/pages/layout.html")),
    ("pages/signup.html", include_str!("../templates/pages/signup.html")),
    ("pages/name_field.html", include_str!("../templates/pages/name_field.html")),
    ("pages/signup_received.html", include_str!("../templates/pages/signup_received.html")),
    ("pages/confirm.html", include_str!("../templates/pages/confirm.html")),
    ("pages/confirmed.html", include_str!("../templates/pages/confirmed.html")),
    ("pages/link_problem.html", include_str!("../templates/pages/link_problem.html")),
    ("pages/unsubscribe.html", include_str!("../templates/pages/unsubscribe.html")),
    ("pages/unsubscribed.html", include_str!("../templates/pages/unsubscribed.html")),
    ("pages/error.html", include_str!("../templates/pages/error.html")),
    ("pages/preferences.html", include_str!("../templates/pages/preferences.html")),
    ("pages/preferences_saved.html", include_str!("../templates/pages/preferences_saved.html")),
    ("admin/layout.html", include_str!("../templates/admin/layout.html")),
    ("admin/login.html", include_str!("../templates/admin/login.html")),
    ("admin/overview.html", include_str!("../templates/admin/overview.html")),
    ("admin/digest_table.html", include_str!("../templates/admin/digest_table.html")),
    ("admin/digests.html", include_str!("../templates/admin/digests.html")),
    ("admin/pager.html", include_str!("../templates/admin/pager.html")),
    ("admin/next_digest.html", include_str!("../templates/admin/next_digest.html")),
    ("admin/send_confirm.html", include_str!("../templates/admin/send_confirm.html")),
    ("admin/digest.html", include_str!("../templates/admin/digest.html")),
    ("admin/subscribers.html", include_str!("../templates/admin/subscribers.html")),
    ("admin/subscriber.html", include_str!("../templates/admin/subscriber.html")),
    ("admin/import.html", include_str!("../templates/admin/import.html")),
    ("admin/erase.html", include_str!("../templates/admin/erase.html")),
    ("admin/publications.html", include_str!("../templates/admin/publications.html")),
    ("admin/publication_form.html", include_str!("../templates/admin/publication_form.html")),
    ("emails/confirmation.subject.txt", include_str!("../templates/emails/confirmation.subject.txt")),
    ("emails/confirmation.txt", include_str!("../templates/emails/confirmation.txt")),
    ("emails/confirmation.html", include_str!("../templates/emails/confirmation.html")),
    ("emails/digest.subject.txt", include_str!("../templates/emails/digest.subject.txt")),
    ("emails/digest.txt", include_str!("../templates/emails/digest.txt")),
    ("emails/digest.html", include_str!("../templates/emails/digest.html")),
];

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read template override {path}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("template {name} is invalid")]
    Invalid { name: String, source: minijinja::Error },
    #[error("rendering {name} failed")]
    Render { name: String, source: minijinja::Error },
}

#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// Compiles every template, taking overrides from `dir` where present.
    pub fn load(dir: Option<&Path>) -> Result<Templates, TemplateError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
        env.set_formatter(html_formatter);
        // A block tag alone on its line leaves no blank line behind: plain
        // text emails stay readable without `{%-` everywhere.
        let syntax = minijinja::syntax::SyntaxConfig::builder().trim_blocks(true).lstrip_blocks(true).build();
        env.set_syntax(syntax.expect("the default delimiters are valid"));
        for (name, builtin) in BUILTIN {
            let source = match dir.map(|d| override_path(d, name)) {
                Some(path) if path.is_file() => {
                    std::fs::read_to_string(&path).map_err(|source| TemplateError::Read { path, source })?
                }
                _ => (*builtin).to_owned(),
            };
            env.add_template_owned(*name, source)
                .map_err(|source| TemplateError::Invalid { name: (*name).to_owned(), source })?;
        }
        Ok(Templates { env })
    }

    pub fn render(&self, name: &str, context: impl Serialize) -> Result<String, TemplateError> {
        self.render_value(name, Value::from(minijinja::value::Serde(context)))
    }

    pub fn render_value(&self, name: &str, context: Value) -> Result<String, TemplateError> {
        let render_error = |source| TemplateError::Render { name: name.to_owned(), source };
        self.env.get_template(name).and_then(|t| t.render(context)).map_err(render_error)
    }
}

/// Escapes `& < > " '` in HTML output. minijinja's default also escapes
/// `/`, which turns every link in an email into `http:&#x2f;&#x2f;…`: valid,
/// but it reads as obfuscation to people and to spam filters.
fn html_formatter(
    out: &mut minijinja::Output,
    state: &mut minijinja::State,
    value: &Value,
) -> Result<(), minijinja::Error> {
    match value.as_str() {
        Some(text) if matches!(state.auto_escape(), minijinja::AutoEscape::Html) && !value.is_safe() => {
            let mut escaped = String::with_capacity(text.len() + 16);
            for c in text.chars() {
                match c {
                    '&' => escaped.push_str("&amp;"),
                    '<' => escaped.push_str("&lt;"),
                    '>' => escaped.push_str("&gt;"),
                    '"' => escaped.push_str("&quot;"),
                    '\'' => escaped.push_str("&#39;"),
                    c => escaped.push(c),
                }
            }
            out.write_str(&escaped).map_err(minijinja::Error::from)
        }
        _ => minijinja::escape_formatter(out, state, value),
    }
}

/// `name` under `dir`; names are ours (no `..`), but stay defensive.
fn override_path(dir: &Path, name: &str) -> PathBuf {
    let relative = Path::new(name);
    debug_assert!(relative.components().all(|c| matches!(c, Component::Normal(_))));
    dir.join(relative)
}

#[cfg(test)]
mod tests {
    use minijinja::context;

    use super::*;

    #[test]
    fn built_in_templates_compile_and_escape_html() {
        let templates = Templates::load(None).unwrap();
        let html = templates
            .render_value(
                "pages/signup_received.html",
                context! { list_name => "<b>List</b>", base_path => "", email => "<script>x</script>@example.org" },
            )
            .unwrap();
        assert!(html.contains("&lt;script&gt;"));
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;b&gt;List&lt;/b&gt;"));
    }

    #[test]
    fn links_are_not_entity_encoded_but_quotes_are() {
        let templates = Templates::load(None).unwrap();
        let html = templates
            .render_value(
                "pages/confirm.html",
                context! { list_name => "L", base_path => "", action => "/a/b?token=x\"y" },
            )
            .unwrap();
        assert!(html.contains(r#"action="/a/b?token=x&quot;y""#), "{html}");
    }

    #[test]
    fn a_file_in_the_templates_dir_overrides_the_built_in_one() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("emails")).unwrap();
        std::fs::write(dir.path().join("emails/confirmation.subject.txt"), "Bitte bestätigen: {{ list_name }}")
            .unwrap();
        let templates = Templates::load(Some(dir.path())).unwrap();
        let subject =
            templates.render_value("emails/confirmation.subject.txt", context! { list_name => "Brief" }).unwrap();
        assert_eq!(subject, "Bitte bestätigen: Brief");
    }

    #[test]
    fn a_broken_override_is_reported_with_its_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("pages")).unwrap();
        std::fs::write(dir.path().join("pages/confirmed.html"), "{% if %}").unwrap();
        let error = Templates::load(Some(dir.path())).unwrap_err();
        assert!(error.to_string().contains("pages/confirmed.html"), "{error}");
    }
}
