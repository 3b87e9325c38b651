//! The route tables' own checks: no route twice, and the same filters on the API's match
//! list as on the workbench's queue.

use super::*;

#[test]
fn no_route_is_listed_twice() {
    for (i, a) in ROUTES.iter().enumerate() {
        assert!(
            !ROUTES[i + 1..]
                .iter()
                .any(|b| a.method == b.method && a.path == b.path),
            "{} {} is listed twice",
            a.method,
            a.path
        );
    }
}

/// Issue 15: the API's match list and the workbench's queue filter by the same parameters
/// (names from the route table, so from the types the handlers parse). The API alone pages
/// (`limit`, `cursor`): the queue shows one page.
#[test]
fn the_queue_and_the_match_list_take_the_same_filters() {
    use std::collections::BTreeSet;
    const PAGING: [&str; 2] = ["limit", "cursor"];
    let names = |route: Option<&'static RouteSpec>| -> BTreeSet<String> {
        let route = route.expect("the route is in its table");
        query_names(route)
            .iter()
            .filter(|n| !PAGING.contains(&n.as_str()))
            .cloned()
            .collect()
    };
    let api = names(find("GET", "/v1/matches"));
    let ui = names(find_ui("GET", "/ui/queue"));
    assert!(
        api.contains("max_age_days") && api.contains("work_id"),
        "{api:?}"
    );
    assert_eq!(
        api, ui,
        "GET /v1/matches and GET /ui/queue must take the same filters"
    );
    assert!(
        PAGING
            .iter()
            .all(|p| query_names(find("GET", "/v1/matches").expect("listed"))
                .iter()
                .any(|n| n == p)),
        "the API list pages"
    );
}
