//! `?page=&per_page=` for every admin list: 50 per page by default, at most 500.

use crate::domain::FieldErrors;
use crate::store::PageRequest;

const DEFAULT_PER_PAGE: u32 = 50;
const MAX_PER_PAGE: u32 = 500;

/// `page` and `per_page`, as the API description shows them.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct PageParams {
    /// The page, from 1.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 4294967295_u64, default = 1)]
    page: Option<u32>,
    /// Items per page.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 500, default = 50)]
    per_page: Option<u32>,
}

/// Reads `page` and `per_page` from a query string, adding field errors for
/// bad values; other parameters are left to the caller.
pub fn page_request(query: Option<&str>, errors: &mut FieldErrors) -> PageRequest {
    let mut page = PageRequest { page: 1, per_page: DEFAULT_PER_PAGE };
    for (key, value) in query_pairs(query) {
        match key.as_str() {
            "page" => match value.parse::<u32>() {
                Ok(n) if n >= 1 => page.page = n,
                _ => errors.add("page", "Must be a whole number from 1."),
            },
            "per_page" => match value.parse::<u32>() {
                Ok(n) if (1..=MAX_PER_PAGE).contains(&n) => page.per_page = n,
                _ => errors.add("per_page", "Must be a whole number from 1 to 500."),
            },
            _ => {}
        }
    }
    page
}

pub fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.unwrap_or("").as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}
