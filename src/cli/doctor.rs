//! `bulletin doctor`: checks the configuration end to end, one line per
//! check (OK, WARNING or PROBLEM) in plain words; any PROBLEM makes the exit
//! code non-zero. It changes nothing: no migration runs, no mail is sent.

use std::process::ExitCode;
use std::time::Duration;

use lettre::message::Mailbox;

use crate::config::{Config, ConfigError, MailConfig};
use crate::email::dkim::Signer;
use crate::email::{Mailer, public_url};
use crate::store::{self, Store};

/// How long BASE_URL may take to answer.
const HTTP_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Default)]
struct Report {
    problems: usize,
}

impl Report {
    fn ok(&mut self, text: impl AsRef<str>) {
        println!("OK       {}", text.as_ref());
    }

    fn warning(&mut self, text: impl AsRef<str>) {
        println!("WARNING  {}", text.as_ref());
    }

    fn problem(&mut self, text: impl AsRef<str>) {
        self.problems += 1;
        println!("PROBLEM  {}", text.as_ref());
    }
}

pub async fn run(config: Result<Config, ConfigError>) -> ExitCode {
    let mut report = Report::default();
    match config {
        Ok(config) => {
            report.ok("configuration: every variable is valid");
            database(&config, &mut report).await;
            mail(&config.mail, &mut report).await;
            dkim(&config.mail, &mut report);
            base_url(&config, &mut report).await;
        }
        Err(error) => report.problem(format!("configuration: {error}")),
    }
    if report.problems == 0 {
        println!("no problems found");
        ExitCode::SUCCESS
    } else {
        println!("{} problem(s) found", report.problems);
        ExitCode::FAILURE
    }
}

async fn database(config: &Config, report: &mut Report) {
    let name = config.database.redacted_url();
    let store = match store::connect(&config.database).await {
        Ok(store) => store,
        Err(error) => return report.problem(format!("database: cannot open {name}: {:#}", anyhow::Error::new(error))),
    };
    match store.ping().await {
        Ok(()) => report.ok(format!("database: {name} answers")),
        Err(error) => report.problem(format!("database: {name} does not answer: {:#}", anyhow::Error::new(error))),
    }
    migrations(store.as_ref(), report).await;
    store.close().await;
}

async fn migrations(store: &dyn Store, report: &mut Report) {
    match store.pending_migrations().await {
        Ok(0) => report.ok("migrations: the database schema is up to date"),
        Ok(pending) => report.warning(format!(
            "migrations: {pending} pending; `bulletin migrate` applies them (`serve` and `worker` do at start)"
        )),
        Err(error) => report.problem(format!("migrations: cannot read them: {:#}", anyhow::Error::new(error))),
    }
}

async fn mail(config: &MailConfig, report: &mut Report) {
    let what = if config.smtp.is_some() { "SMTP" } else { "outbox" };
    let mailer = match Mailer::new(config) {
        Ok(mailer) => mailer,
        Err(error) => return report.problem(format!("{what}: {error:#}")),
    };
    match mailer.check().await {
        Ok(passed) => report.ok(format!("{what}: {passed}")),
        Err(failed) => report.problem(format!("{what}: {failed}")),
    }
    for (variable, from) in senders(config) {
        if !from.email.domain().contains('.') {
            report
                .warning(format!("{variable}: {} is not a public address; receivers refuse mail from it", from.email));
        }
    }
}

fn dkim(config: &MailConfig, report: &mut Report) {
    let Some(dkim) = &config.dkim else {
        return report.warning(
            "DKIM: off (DKIM_DOMAIN, DKIM_SELECTOR, DKIM_PRIVATE_KEY_FILE are unset); \
             large mailbox providers expect bulk mail to be signed",
        );
    };
    let signer = Signer::new(dkim);
    let (name, record) = (signer.dns_name(), dkim.key.dns_record());
    match &dkim.published_key {
        Some(published) if dkim.key.matches(published) => report.ok(format!(
            "DKIM: the {} key in {} matches DKIM_PUBLIC_KEY, to be published at {name}",
            dkim.key.key_type(),
            dkim.key_file.display()
        )),
        Some(_) => report.problem(format!(
            "DKIM: the key in DKIM_PRIVATE_KEY_FILE does not match DKIM_PUBLIC_KEY, so receivers would \
             reject every signature; publish this TXT record at {name}: {record}"
        )),
        None => report.warning(format!(
            "DKIM: cannot look up {name} from here; make sure it holds this TXT record \
             (or set DKIM_PUBLIC_KEY to what it holds, to compare): {record}"
        )),
    }
    for (variable, from) in senders(config) {
        let domain = from.email.domain().to_ascii_lowercase();
        if domain != dkim.domain && !domain.ends_with(&format!(".{}", dkim.domain)) {
            report.warning(format!(
                "DKIM: {variable} is at {domain}, outside DKIM_DOMAIN {}: DMARC will not count the signature",
                dkim.domain
            ));
        }
    }
}

/// The From addresses in use, each once, with the variable that sets it.
fn senders(config: &MailConfig) -> Vec<(&'static str, &Mailbox)> {
    let mut senders = vec![("MAIL_FROM", &config.from)];
    if config.from_transactional != config.from {
        senders.push(("MAIL_FROM_TRANSACTIONAL", &config.from_transactional));
    }
    senders
}

/// BASE_URL is where every link in every email points; a service that is
/// not running yet (or is only reachable from outside) is not a problem.
async fn base_url(config: &Config, report: &mut Report) {
    let url = public_url(&config.http.base_url, "health", &[]);
    crate::tls::install_crypto_provider();
    let answer = match reqwest::Client::builder().timeout(HTTP_TIMEOUT).build() {
        Ok(client) => client.get(&url).send().await.map_err(|e| format!("{:#}", anyhow::Error::new(e))),
        Err(error) => Err(error.to_string()),
    };
    match answer {
        Ok(response) if response.status().is_success() => report.ok(format!("BASE_URL: {url} answers")),
        Ok(response) => report.warning(format!("BASE_URL: {url} answers {}", response.status())),
        Err(reason) => report.warning(format!(
            "BASE_URL: {url} cannot be reached from here ({reason}); every link in every email points there"
        )),
    }
}
