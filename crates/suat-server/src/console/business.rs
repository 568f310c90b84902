//! Business Settings (seeds 001 and 004): sign in as a business admin (password) or as the operator (control-plane
//! key); see the business's system users, apps and pages with their people; create a system user, install an app
//! for it, give it tasks on a page, "Generate New Token", revoke one token or all of a system user's. Each action
//! calls the use case the Graph handler (or, for the operator, the control plane) calls: same rules, same errors,
//! same audit entries. The sign-in is the consent page's, behind the same throttle and hashing pool.

use super::{describe, page, when, Browser, Form, Posted};
use crate::{graph::dialog::Peer, state::AppState};
use axum::{
    extract::{Query, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use maud::{html, Markup};
use std::collections::HashMap;
use suat_core::{page::PageTask, AppId, BusinessId, PageId, Scope, SystemUserRole, UserId};
use suat_service::{
    consent::SignIn,
    console::{role_name, BusinessView, Principal},
    Service,
};

/// The console's session cookie. SameSite=Strict: no other site's page can make the browser use it.
const SESSION: &str = "suat_console";

async fn principal(s: &AppState, headers: &HeaderMap) -> Option<Principal> {
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == SESSION)
        .map(|(_, v)| v.to_owned())?;
    s.svc.console_principal(&cookie, s.now()).await.ok().flatten()
}

/// A notice above the page: what an action did, or the error it met.
enum Notice {
    Done(String),
    Failed(StatusCode, String),
}

impl Notice {
    fn status(&self) -> StatusCode {
        match self {
            Notice::Done(_) => StatusCode::OK,
            Notice::Failed(s, _) => *s,
        }
    }
    fn markup(&self) -> Markup {
        match self {
            Notice::Done(m) => html! { p.ok #notice role="status" { (m) } },
            Notice::Failed(_, m) => html! { p.err #error role="alert" { (m) } },
        }
    }
}

fn failed(e: suat_service::Error) -> Notice {
    let (status, text) = describe(e);
    Notice::Failed(status, text)
}

/// GET /business_settings[?business=ID]: the sign-in page, or the business's settings.
pub async fn show(State(s): State<AppState>, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    let browser = Browser::of(&s, &headers);
    match principal(&s, &headers).await {
        None => browser.bind(sign_in_page(&s, &browser, StatusCode::OK, None)),
        Some(who) => {
            let business = q.get("business").and_then(|b| b.parse().ok());
            browser.bind(overview(&s, &who, &browser, business, None).await)
        }
    }
}

fn sign_in_page(s: &AppState, browser: &Browser, status: StatusCode, error: Option<&str>) -> Response {
    page(
        status,
        "Sign in · Business Settings",
        None,
        html! {
            h1 { "Business Settings" }
            @if let Some(e) = error { p.err #error role="alert" { (e) } }
            div.columns {
                form.card #sign-in-person method="post" action="/business_settings/sign_in" {
                    h2 { "Sign in as a business admin" }
                    (browser.field(s))
                    input type="hidden" name="kind" value="person";
                    label for="user" { "User ID" }
                    input #user type="text" name="user" autocomplete="username" inputmode="numeric" required;
                    label for="password" { "Password" }
                    input #password type="password" name="password" autocomplete="current-password" required;
                    button type="submit" { "Sign in" }
                }
                form.card #sign-in-operator method="post" action="/business_settings/sign_in" {
                    h2 { "Sign in as the operator" }
                    (browser.field(s))
                    input type="hidden" name="kind" value="operator";
                    label for="operator-key" { "Control-plane key" }
                    input #operator-key type="password" name="key" autocomplete="off" required;
                    p.hint { "The contents of " code { "suat.admin-key" } " (or " code { "SUAT_ADMIN_KEY" } ")." }
                    button type="submit" { "Sign in with the key" }
                }
            }
        },
    )
}

/// POST /business_settings/sign_in: a person with their password, or the operator with the control-plane key, both
/// behind the consent page's throttle (and, for passwords, its argon2 pool).
pub async fn sign_in(State(s): State<AppState>, Peer(peer): Peer, Posted { form, browser }: Posted) -> Response {
    let now = s.now();
    let outcome = if form.get("kind") == Some("operator") {
        s.svc.sign_in_operator(form.text("key"), &s.admin_key, &peer, now).await.map(|()| Principal::Operator)
    } else {
        match s.svc.sign_in(form.text("user"), form.text("password"), &peer, now).await {
            SignIn::Ok(user) => Ok(Principal::Person(user)),
            other => Err(other),
        }
    };
    let again = |status, message: &str| browser.bind(sign_in_page(&s, &browser, status, Some(message)));
    match outcome {
        Ok(who) => {
            let mut r = (StatusCode::SEE_OTHER, [(header::LOCATION, "/business_settings")]).into_response();
            let c = format!(
                "{SESSION}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
                s.svc.console_session(&who, now),
                suat_service::console::SESSION_TTL
            );
            if let Ok(v) = HeaderValue::from_str(&c) {
                r.headers_mut().append(header::SET_COOKIE, v);
            }
            r
        }
        Err(SignIn::Throttled { until, locked }) => crate::graph::dialog::throttled(until, locked, now, again),
        Err(SignIn::Busy) => {
            let mut r = again(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many sign-ins are being checked right now. Try again in a moment.",
            );
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            r
        }
        Err(_) if form.get("kind") == Some("operator") => {
            again(StatusCode::UNAUTHORIZED, "That is not the control-plane key.")
        }
        Err(_) => again(StatusCode::UNAUTHORIZED, "Incorrect user ID or password."),
    }
}

/// POST /business_settings/sign_out.
pub async fn sign_out(_: Posted) -> Response {
    let mut r = (StatusCode::SEE_OTHER, [(header::LOCATION, "/business_settings")]).into_response();
    r.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_static("suat_console=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    r
}

const TASKS: [(PageTask, &str); 5] = [
    (PageTask::Manage, "Manage Page (everything, including roles)"),
    (PageTask::CreateContent, "Create content"),
    (PageTask::Moderate, "Moderate comments and messages"),
    (PageTask::Advertise, "Advertise"),
    (PageTask::Analyze, "Analyze"),
];

/// The business's settings, with `notice` on top.
async fn overview(
    s: &AppState,
    who: &Principal,
    browser: &Browser,
    business: Option<BusinessId>,
    notice: Option<Notice>,
) -> Response {
    let views = match s.svc.console_view(who, None).await {
        Ok(v) => v,
        Err(e) => {
            let n = failed(e);
            return page(n.status(), "Business Settings", Some(who), n.markup());
        }
    };
    let status = notice.as_ref().map_or(StatusCode::OK, Notice::status);
    let current = views.iter().find(|v| Some(v.business.id) == business).or(views.first());
    let csrf = browser.field(s);
    let body = html! {
        div.titlebar {
            h1 { "Business Settings" }
            form method="post" action="/business_settings/sign_out" {
                (csrf) button.secondary type="submit" { "Sign out" }
            }
        }
        @if let Some(n) = &notice { (n.markup()) }
        @if matches!(who, Principal::Operator) {
            p.hint { "Signed in with the control-plane key: you see every business and can create system users. Installing
                      apps, giving tasks and generating tokens are done by a person: sign in as an admin of the business." }
        }
        @if views.len() > 1 {
            nav.businesses aria-label="Businesses" {
                @for v in &views {
                    @let here = current.is_some_and(|c| c.business.id == v.business.id);
                    a href={ "/business_settings?business=" (v.business.id) } aria-current=[here.then_some("page")] {
                        (v.business.name)
                    }
                }
            }
        }
        @match current {
            None => p #no-business { "You are not a member of any business." },
            Some(v) => (business_markup(s, v, &csrf)),
        }
    };
    page(status, "Business Settings", Some(who), body)
}

fn business_markup(s: &AppState, v: &BusinessView, csrf: &Markup) -> Markup {
    let b = &v.business;
    let now = s.now();
    let app_name = |id: AppId| v.apps.iter().find(|a| a.id == id).map(|a| a.name.clone()).unwrap_or(id.to_string());
    html! {
        h2 #business-name { (b.name) " " span.id { "(business " (b.id) ")" } }
        @if b.must_use_expiring_tokens { p.hint { "This business requires expiring (60-day) tokens." } }

        section #system-users aria-labelledby="h-system-users" {
            h3 #h-system-users { "Users › System Users" }
            table {
                caption.sr { "System users of " (b.name) }
                thead { tr { th scope="col" { "Name" } th scope="col" { "ID" } th scope="col" { "Role" } th scope="col" { "Apps" } th scope="col" { "Active tokens" } th scope="col" { "Actions" } } }
                tbody {
                    @for su in &v.system_users {
                        tr data-system-user=(su.user.id) {
                            th scope="row" { (su.user.name) }
                            td { (su.user.id) }
                            td { (role_name(&su.user)) }
                            td { @for a in &su.installed { span.tag { (app_name(*a)) } " " } }
                            td {
                                @for t in &su.tokens {
                                    div.small {
                                        code { (t.token_ref) } " " (app_name(t.app_id)) ", "
                                        @match t.expires_at { Some(e) => { "expires " (when(e, now)) }, None => "never expires" }
                                    }
                                }
                            }
                            td.actions {
                                a.button href={ "/business_settings/generate?system_user=" (su.user.id) }
                                    aria-label={ "Generate New Token for " (su.user.name) } { "Generate New Token" }
                                form method="post" action="/business_settings/revoke_all" {
                                    (csrf)
                                    input type="hidden" name="business" value=(b.id);
                                    input type="hidden" name="system_user" value=(su.user.id);
                                    button.danger type="submit" aria-label={ "Revoke all tokens of " (su.user.name) } { "Revoke all tokens" }
                                }
                            }
                        }
                    }
                }
            }
            form.card #create-system-user method="post" action="/business_settings/system_users" {
                h4 { "Add a system user" }
                (csrf)
                input type="hidden" name="business" value=(b.id);
                label for="su-name" { "System user name" }
                input #su-name type="text" name="name" maxlength="100" required;
                label for="su-role" { "System user role" }
                select #su-role name="role" {
                    option value="EMPLOYEE" { "Employee" }
                    option value="ADMIN" { "Admin" }
                }
                button type="submit" { "Create system user" }
            }
        }

        section #apps aria-labelledby="h-apps" {
            h3 #h-apps { "Accounts › Apps" }
            table {
                caption.sr { "Apps of " (b.name) }
                thead { tr { th scope="col" { "App" } th scope="col" { "ID" } th scope="col" { "How" } th scope="col" { "Access level" } } }
                tbody {
                    @for a in &v.apps {
                        tr {
                            th scope="row" { (a.name) }
                            td { (a.id) }
                            td { @if a.owner_business == Some(b.id) { "owned" } @else if a.owner_business.is_some() && a.owner_business == b.parent_id { "owned by the parent business" } @else { "shared with this business" } }
                            td { (format!("{:?}", a.access_level)) }
                        }
                    }
                }
            }
            form.card #install-app method="post" action="/business_settings/install" {
                h4 { "Install an app for a system user" }
                (csrf)
                input type="hidden" name="business" value=(b.id);
                label for="install-su" { "Install for system user" }
                select #install-su name="system_user" required {
                    @for su in &v.system_users { option value=(su.user.id) { (su.user.name) " (" (su.user.id) ")" } }
                }
                label for="install-app-id" { "App to install" }
                select #install-app-id name="app" required {
                    @for a in &v.apps { option value=(a.id) { (a.name) " (" (a.id) ")" } }
                }
                button type="submit" { "Install app" }
            }
            form.card #share-app method="post" action="/business_settings/share_app" {
                h4 { "Add a shared app (an app of another business)" }
                (csrf)
                input type="hidden" name="business" value=(b.id);
                label for="share-app-id" { "App ID" }
                input #share-app-id type="text" name="app" inputmode="numeric" required;
                p.hint { "You must be a developer or admin of the app (seed 000). Its system users then use it through app-scoped ids." }
                button type="submit" { "Add app" }
            }
        }

        section #pages aria-labelledby="h-pages" {
            h3 #h-pages { "Accounts › Pages" }
            table {
                caption.sr { "Pages of " (b.name) " and their people" }
                thead { tr { th scope="col" { "Page" } th scope="col" { "ID" } th scope="col" { "People and tasks" } } }
                tbody {
                    @for p in &v.pages {
                        tr data-page=(p.page.id) {
                            th scope="row" { (p.page.name) }
                            td { (p.page.id) }
                            td { @for (u, tasks) in &p.people { div.small { (u.name) " (" (u.id) "): " (tasks.join(", ")) } } }
                        }
                    }
                }
            }
            form.card #add-people method="post" action="/business_settings/assign" {
                h4 { "Add People to a page" }
                (csrf)
                input type="hidden" name="business" value=(b.id);
                label for="assign-page" { "Page" }
                select #assign-page name="page" required {
                    @for p in &v.pages { option value=(p.page.id) { (p.page.name) " (" (p.page.id) ")" } }
                }
                label for="assign-user" { "Person or system user" }
                select #assign-user name="user" required {
                    optgroup label="System users" {
                        @for su in &v.system_users { option value=(su.user.id) { (su.user.name) " (" (su.user.id) ")" } }
                    }
                    optgroup label="People" {
                        @for u in &v.people { option value=(u.id) { (u.name) " (" (u.id) ")" } }
                    }
                }
                fieldset {
                    legend { "Tasks" }
                    @for (t, label) in TASKS {
                        label.check { input type="checkbox" name="task" value=(t.as_str()); " " (label) }
                    }
                }
                button type="submit" { "Add people" }
            }
        }

        section #revoke aria-labelledby="h-revoke" {
            h3 #h-revoke { "Revoke a token" }
            form.card #revoke-token method="post" action="/business_settings/revoke" {
                (csrf)
                input type="hidden" name="business" value=(b.id);
                label for="revoke-input" { "Token to revoke" }
                input #revoke-input type="password" name="token" autocomplete="off" required;
                p.hint { "A token of one of this business's system users, or a page token made from one. It stops working at once." }
                button.danger type="submit" { "Revoke token" }
            }
        }
    }
}

/// The signed-in principal of a console action (its form already checked by [`Posted`]), or the sign-in page.
async fn action(s: &AppState, headers: &HeaderMap, posted: Posted) -> Result<(Principal, Form, Browser), Response> {
    let Posted { form, browser } = posted;
    match principal(s, headers).await {
        Some(who) => Ok((who, form, browser)),
        None => Err(browser.bind(sign_in_page(
            s,
            &browser,
            StatusCode::UNAUTHORIZED,
            Some("Your session has ended: sign in again."),
        ))),
    }
}

fn business_of(form: &Form) -> Option<BusinessId> {
    form.get("business").and_then(|b| b.parse().ok())
}

fn parse<T: std::str::FromStr>(form: &Form, name: &str) -> Result<T, Notice> {
    form.get(name).and_then(|v| v.trim().parse().ok()).ok_or_else(|| {
        Notice::Failed(StatusCode::BAD_REQUEST, format!("(#100) Choose a valid {}.", name.replace('_', " ")))
    })
}

/// A user's name and id for a notice ("Messenger bot (1005)"), or the id alone.
async fn user_label(s: &AppState, id: UserId) -> String {
    match s.svc.store.get_user(id).await {
        Ok(Some(u)) => format!("{} ({id})", u.name),
        _ => id.to_string(),
    }
}

async fn app_label(s: &AppState, id: AppId) -> String {
    match s.svc.store.get_app(id).await {
        Ok(Some(a)) => format!("{} ({id})", a.app.name),
        _ => id.to_string(),
    }
}

/// Actions made by a person: the operator is told to sign in as one.
fn person(who: &Principal) -> Result<suat_core::User, Notice> {
    match who {
        Principal::Person(u) => Ok(u.clone()),
        Principal::Operator => Err(Notice::Failed(
            StatusCode::FORBIDDEN,
            "This is done by a person, as on the Graph: sign in as an admin of the business.".into(),
        )),
    }
}

/// Shows the business again with what an action did (the action has already run).
async fn respond(
    s: &AppState,
    who: &Principal,
    form: &Form,
    browser: &Browser,
    done: Result<String, Notice>,
) -> Response {
    let notice = match done {
        Ok(m) => Notice::Done(m),
        Err(n) => n,
    };
    browser.bind(overview(s, who, browser, business_of(form), Some(notice)).await)
}

/// The handler of a console action: checks the form and the session, runs `$run(&s, &who, &form)`, shows the result.
macro_rules! console_action {
    ($name:ident, $run:ident) => {
        pub async fn $name(State(s): State<AppState>, headers: HeaderMap, posted: Posted) -> Response {
            let (who, form, browser) = match action(&s, &headers, posted).await {
                Ok(x) => x,
                Err(r) => return r,
            };
            let done = $run(&s, &who, &form).await;
            respond(&s, &who, &form, &browser, done).await
        }
    };
}

console_action!(create_system_user, run_create_system_user);
console_action!(install, run_install);
console_action!(share_app, run_share_app);
console_action!(assign, run_assign);
console_action!(revoke, run_revoke);
console_action!(revoke_all, run_revoke_all);

/// POST /business_settings/system_users `name`, `role`: `POST /{business}/system_users` for a person, the control
/// plane's `POST /_suat/system_users` for the operator.
async fn run_create_system_user(s: &AppState, who: &Principal, form: &Form) -> Result<String, Notice> {
    {
        let business: BusinessId = parse(form, "business")?;
        let role = SystemUserRole::parse(form.text("role")).ok_or_else(|| {
            Notice::Failed(StatusCode::BAD_REQUEST, "(#100) Param role must be one of {ADMIN, EMPLOYEE}".into())
        })?;
        let name = form.text("name");
        let id = match who {
            Principal::Person(u) => {
                let caller = s.svc.console_caller(u.clone());
                s.svc.create_system_user(&caller, business, name, role, s.now()).await.map_err(failed)?
            }
            Principal::Operator => {
                let spec = suat_service::operator::SystemUserSpec {
                    id: None,
                    business_id: business.to_string(),
                    name: name.to_owned(),
                    role,
                };
                suat_service::operator::create_system_user(&s.svc, spec).await.map_err(failed)?
            }
        };
        Ok(format!("System user {} created with id {id}.", name.trim()))
    }
}

/// POST /business_settings/install `system_user`, `app`: `POST /{su}/applications`.
async fn run_install(s: &AppState, who: &Principal, form: &Form) -> Result<String, Notice> {
    {
        let user = person(who)?;
        let (su, app): (UserId, AppId) = (parse(form, "system_user")?, parse(form, "app")?);
        s.svc.install(&s.svc.console_caller(user), su, app, s.now()).await.map_err(failed)?;
        Ok(format!("{} installed for {}.", app_label(s, app).await, user_label(s, su).await))
    }
}

/// POST /business_settings/share_app `app`: `POST /{business}/client_apps`.
async fn run_share_app(s: &AppState, who: &Principal, form: &Form) -> Result<String, Notice> {
    let caller = s.svc.console_caller(person(who)?);
    let (business, app): (BusinessId, AppId) = (parse(form, "business")?, parse(form, "app")?);
    s.svc.share_app(&caller, business, app, s.now()).await.map_err(failed)?;
    Ok(format!("{} is shared with this business.", app_label(s, app).await))
}

/// POST /business_settings/assign `page`, `user`, `task`...: `POST /{page}/assigned_users`.
async fn run_assign(s: &AppState, who: &Principal, form: &Form) -> Result<String, Notice> {
    {
        let caller = s.svc.console_caller(person(who)?);
        let (page_id, user): (PageId, UserId) = (parse(form, "page")?, parse(form, "user")?);
        let tasks: Vec<&str> = form.all("task").collect();
        if tasks.is_empty() {
            return Err(Notice::Failed(StatusCode::BAD_REQUEST, "(#100) Choose at least one task.".into()));
        }
        let tasks = suat_core::page::parse_tasks(&tasks.join(",")).map_err(|e| failed(e.into()))?;
        let page =
            s.svc.find_page(page_id).await.map_err(failed)?.ok_or_else(|| {
                Notice::Failed(StatusCode::BAD_REQUEST, format!("(#100) Page {page_id} does not exist."))
            })?;
        let names = tasks.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", ");
        s.svc.assign(&caller, &page, user, tasks, s.now()).await.map_err(failed)?;
        Ok(format!("{} now has {names} on {}.", user_label(s, user).await, page.name))
    }
}

/// POST /business_settings/revoke `token`: one token, by an admin of its system user's business.
async fn run_revoke(s: &AppState, who: &Principal, form: &Form) -> Result<String, Notice> {
    {
        let caller = s.svc.console_caller(person(who)?);
        s.svc.revoke_as_admin(&caller, form.text("token"), s.now()).await.map_err(failed)?;
        Ok("Token revoked: it no longer works, nor do page tokens made from it.".into())
    }
}

/// POST /business_settings/revoke_all `system_user`: `DELETE /{su}/access_tokens`.
async fn run_revoke_all(s: &AppState, who: &Principal, form: &Form) -> Result<String, Notice> {
    {
        let caller = s.svc.console_caller(person(who)?);
        let su: UserId = parse(form, "system_user")?;
        let n = s.svc.revoke_all(&caller, su, s.now()).await.map_err(failed)?;
        Ok(format!("All tokens of {} revoked ({n}).", user_label(s, su).await))
    }
}

/// GET /business_settings/generate?system_user=ID[&app=ID]: "Generate New Token": choose the app, then tick the
/// permissions (those the rules allow for it) and the expiry (as the business allows).
pub async fn generate_form(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let browser = Browser::of(&s, &headers);
    let Some(who) = principal(&s, &headers).await else {
        return browser.bind(sign_in_page(&s, &browser, StatusCode::UNAUTHORIZED, Some("Sign in first.")));
    };
    let form = Form(q.into_iter().collect());
    browser.bind(generate_page(&s, &who, &browser, &form, None).await)
}

async fn generate_page(
    s: &AppState,
    who: &Principal,
    browser: &Browser,
    form: &Form,
    error: Option<Notice>,
) -> Response {
    let su: Option<UserId> = form.get("system_user").and_then(|v| v.parse().ok());
    let app: Option<AppId> = form.get("app").and_then(|v| v.parse().ok());
    let views = s.svc.console_view(who, None).await.unwrap_or_default();
    let found = views.iter().find_map(|v| v.system_users.iter().find(|x| Some(x.user.id) == su).map(|x| (v, x)));
    let Some((v, su)) = found else {
        return page(
            StatusCode::NOT_FOUND,
            "Generate New Token",
            Some(who),
            html! { h1 { "Generate New Token" } p.err #error role="alert" { "No such system user in your businesses." } },
        );
    };
    let chosen = app.and_then(|a| v.apps.iter().find(|x| x.id == a));
    let status = error.as_ref().map_or(StatusCode::OK, Notice::status);
    let body = html! {
        h1 { "Generate New Token" }
        p { "For system user " strong { (su.user.name) } " (" (su.user.id) ") of " (v.business.name) ". "
            a href={ "/business_settings?business=" (v.business.id) } { "Back to Business Settings" } }
        @if let Some(n) = &error { (n.markup()) }
        form.card #choose-app method="get" action="/business_settings/generate" {
            input type="hidden" name="system_user" value=(su.user.id);
            label for="gen-app" { "Select app" }
            select #gen-app name="app" data-autosubmit {
                @if chosen.is_none() { option value="" { "Choose an app" } }
                @for a in &v.apps {
                    option value=(a.id) selected[chosen.is_some_and(|c| c.id == a.id)] { (a.name) " (" (a.id) ")" }
                }
            }
            button.secondary #choose-app-next type="submit" { "Next" }
        }
        @if let Some(a) = chosen {
            form.card #generate method="post" action="/business_settings/generate" {
                (browser.field(s))
                input type="hidden" name="business" value=(v.business.id);
                input type="hidden" name="system_user" value=(su.user.id);
                input type="hidden" name="app" value=(a.id);
                fieldset #permissions {
                    legend { "Available permissions for " (a.name) }
                    @for scope in Service::grantable_scopes(a) {
                        label.check { input type="checkbox" name="scope" value=(scope.as_str()); " " (scope.as_str()) }
                    }
                }
                fieldset {
                    legend { "Token expiration" }
                    label.check { input type="radio" name="expiry" value="60_days" checked; " 60 days" }
                    @if !v.business.must_use_expiring_tokens {
                        label.check { input type="radio" name="expiry" value="never"; " Never" }
                    }
                }
                button type="submit" { "Generate Token" }
            }
        }
    };
    page(status, "Generate New Token", Some(who), body)
}

/// POST /business_settings/generate `system_user`, `app`, `scope`..., `expiry`: `POST /{su}/access_tokens`. The
/// token is shown once, on this answer only (no-store, never in a URL).
pub async fn generate(State(s): State<AppState>, headers: HeaderMap, posted: Posted) -> Response {
    let (who, form, browser) = match action(&s, &headers, posted).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let run = async {
        let caller = s.svc.console_caller(person(&who)?);
        let (su, app): (UserId, AppId) = (parse(&form, "system_user")?, parse(&form, "app")?);
        let scopes =
            form.all("scope").map(Scope::parse).collect::<Result<Vec<_>, _>>().map_err(|e| failed(e.into()))?;
        let expiring = form.get("expiry") != Some("never");
        let now = s.now();
        let token = s.svc.console_generate(&caller, su, app, scopes.clone(), expiring, now).await.map_err(failed)?;
        Ok::<_, Notice>((token, su, app, scopes, expiring.then_some(now + suat_core::time::SIXTY_DAYS), now))
    };
    match run.await {
        Err(n) => browser.bind(generate_page(&s, &who, &browser, &form, Some(n)).await),
        Ok((token, su, app, scopes, expires, now)) => {
            let (su, app) = (user_label(&s, su).await, app_label(&s, app).await);
            page(
                StatusCode::OK,
                "Token generated",
                Some(&who),
                html! {
                    h1 { "Token generated" }
                    p.ok role="status" { "Copy this token now: it is shown only once and cannot be shown again." }
                    div.card {
                        label for="new-token" { "Access token" }
                        div.copyrow {
                            input #new-token type="text" readonly value=(token.expose()) autocomplete="off" spellcheck="false";
                            button #copy-token type="button" data-copy="new-token" { "Copy" }
                        }
                        dl {
                            dt { "System user" } dd { (su) }
                            dt { "App" } dd { (app) }
                            dt { "Permissions" } dd #new-token-scopes { (scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")) }
                            dt { "Expires" } dd { @match expires { Some(e) => (when(e, now)), None => "Never" } }
                        }
                    }
                    p { a href={ "/business_settings?business=" (form.text("business")) } { "Back to Business Settings" } }
                },
            )
        }
    }
}
