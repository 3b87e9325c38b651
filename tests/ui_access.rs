//! The workbench's access rules come from one table (`reelguard_server::routes::UI_ROUTES`):
//! every page and form answers every role as the table says — a role the table does not admit
//! gets 403, a visitor without a session is sent to the login page, and an admitted role gets
//! past the check (here to a 404, since the ids asked for do not exist).

mod support;

use reelguard_server::routes::{query_names, Access, UI_ROUTES};
use reelguard_store::Role;
use support::web::{Form, Web};
use support::Site;

/// A path of the template with every parameter filled by something that does not exist.
fn concrete(template: &str) -> String {
    template
        .replace("{id}", "999999")
        .replace("{file}", "0-suspect.jpg")
}

#[test]
fn every_workbench_route_answers_every_role_as_its_table_says() {
    let site = Site::start(&[]);
    let roles = [
        (Role::Admin, site.admin.clone()),
        (Role::Member, site.key("studio", "member")),
        (Role::Crawler, site.key("crawler-co", "crawler")),
        (Role::Reviewer, site.key("review-team", "reviewer")),
    ];
    let mut checked = 0;
    for route in UI_ROUTES {
        let path = concrete(route.path);
        // Logged out.
        let mut anonymous = Web::new(&site.daemon);
        let page = match route.method {
            "GET" => anonymous.get(&path),
            _ => anonymous.post_form(&path, &[]),
        };
        match route.access {
            Access::Public => assert_ne!(page.status, 403, "{} {path} logged out", route.method),
            _ => assert!(
                page.status == 303 && page.location.as_deref() == Some("/ui/login"),
                "{} {path} logged out: {} {:?}",
                route.method,
                page.status,
                page.location
            ),
        }
        for (role, key) in &roles {
            let mut web = Web::new(&site.daemon);
            web.log_in(key);
            let home = web.get_following("/ui/").1;
            let csrf = Form::find(&home.body, "logout")
                .and_then(|f| f.value("csrf"))
                .unwrap_or_else(|| {
                    panic!(
                        "{} {path}: as {role:?}, the home page ({}) carries no session CSRF token: {}",
                        route.method,
                        home.status, home.body
                    )
                });
            let page = match route.method {
                "GET" => web.get(&path),
                _ => web.post_form(&path, &[("csrf", &csrf)]),
            };
            let admitted = match route.access {
                Access::Public | Access::AnyKey => true,
                Access::Roles(admitted) => admitted.contains(role),
            };
            if admitted {
                assert_ne!(
                    page.status, 403,
                    "{} {path} as {role:?}: {}",
                    route.method, page.body
                );
            } else {
                assert_eq!(page.status, 403, "{} {path} as {role:?}", route.method);
            }
            checked += 1;
        }
    }
    assert_eq!(checked, UI_ROUTES.len() * roles.len());
}

#[test]
fn workbench_pages_refuse_query_parameters_they_do_not_take() {
    let site = Site::start(&[]);
    let mut web = Web::new(&site.daemon);
    web.log_in(&site.key("review-team", "reviewer"));
    let mut checked = 0;
    for route in UI_ROUTES.iter().filter(|r| r.method == "GET") {
        let admitted = match route.access {
            Access::Public => false, // a login form takes no filters to misspell
            Access::AnyKey => true,
            Access::Roles(roles) => roles.contains(&Role::Reviewer),
        };
        if !admitted {
            continue;
        }
        let path = format!("{}?platfrom=douyin", concrete(route.path));
        let page = web.get(&path);
        assert_eq!(page.status, 400, "GET {path}: {}", page.body);
        assert!(page.body.contains("platfrom"), "GET {path}: {}", page.body);
        for name in query_names(route) {
            assert!(page.body.contains(name.as_str()), "GET {path} names {name}");
        }
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} pages checked");
    // The documented filters still work, the API's spelling of them included.
    let queue = web.get("/ui/queue?state=all&platform=douyin&min_score=0.5");
    assert_eq!(queue.status, 200, "{}", queue.body);
    let notice = web.get("/ui/notices/999999?lang=en");
    assert_eq!(notice.status, 404, "{}", notice.body);
}
