//! The one contract every `Store` backend must meet. Each case is a plain async function over a fresh, empty store;
//! [`store_contract_tests!`](crate::store_contract_tests) turns them into one `#[tokio::test]` per case per backend.

use crate::{AuditEntry, Dump, Result, Store, StoreError, StoredApp, Write, Writes, Written};
use std::sync::Arc;
use suat_core::{
    oauth::AuthCode,
    page::{Page, PageRole, PageTask},
    scope::Scope,
    AccessLevel, App, AppId, AppRole, AppStatus, Business, BusinessId, PageId, SystemUserRole, TokenHash, TokenKind,
    TokenRecord, User, UserId, UserKind,
};

pub type Dyn = Arc<dyn Store>;

/// The contract's cases name each write by what it does; every one is a [`Write`] run by [`Writes::execute`].
#[async_trait::async_trait]
trait Calls {
    async fn create_business(&self, b: &Business, a: &AuditEntry) -> Result<()>;
    async fn create_user(&self, u: &User, a: &AuditEntry) -> Result<()>;
    async fn bump_session_epoch(&self, u: UserId, a: &AuditEntry) -> Result<i64>;
    async fn create_app(&self, app: &StoredApp, a: &AuditEntry) -> Result<()>;
    async fn install_app(&self, su: UserId, app: AppId, a: &AuditEntry) -> Result<bool>;
    async fn uninstall_app(&self, su: UserId, app: AppId, a: &AuditEntry) -> Result<bool>;
    async fn insert_token(&self, t: &TokenRecord, a: &AuditEntry) -> Result<()>;
    async fn refresh_token(&self, t: &TokenRecord, a: &AuditEntry) -> Result<()>;
    async fn revoke_token(&self, h: &TokenHash, at: i64, a: &AuditEntry) -> Result<bool>;
    async fn revoke_all_for_user(&self, u: UserId, at: i64, a: &AuditEntry) -> Result<u64>;
    async fn append_audit(&self, a: &AuditEntry) -> Result<()>;
    async fn set_clock_offset(&self, o: i64, a: &AuditEntry) -> Result<()>;
    async fn set_password_hash(&self, u: UserId, phc: &str, a: &AuditEntry) -> Result<()>;
    async fn create_page(&self, p: &Page, a: &AuditEntry) -> Result<()>;
    async fn set_page_role(&self, r: &PageRole, a: &AuditEntry) -> Result<()>;
    async fn remove_page_role(&self, p: PageId, u: UserId, a: &AuditEntry) -> Result<bool>;
    async fn insert_code(&self, c: &AuthCode, a: &AuditEntry) -> Result<()>;
    async fn redeem_code(&self, h: &TokenHash, at: i64, t: &TokenRecord, a: &AuditEntry) -> Result<()>;
    async fn reset(&self, a: &AuditEntry) -> Result<()>;
}

#[async_trait::async_trait]
impl<S: Writes + ?Sized> Calls for S {
    async fn create_business(&self, b: &Business, a: &AuditEntry) -> Result<()> {
        self.execute(&Write::CreateBusiness(b.clone()), a).await.map(drop)
    }
    async fn create_user(&self, u: &User, a: &AuditEntry) -> Result<()> {
        self.execute(&Write::CreateUser(u.clone()), a).await.map(drop)
    }
    async fn bump_session_epoch(&self, u: UserId, a: &AuditEntry) -> Result<i64> {
        match self.execute(&Write::BumpSessionEpoch(u), a).await? {
            Written::Epoch(e) => Ok(e),
            other => panic!("a password change answered {other:?}"),
        }
    }
    async fn create_app(&self, app: &StoredApp, a: &AuditEntry) -> Result<()> {
        self.execute(&Write::CreateApp(app.clone()), a).await.map(drop)
    }
    async fn install_app(&self, su: UserId, app: AppId, a: &AuditEntry) -> Result<bool> {
        self.execute(&Write::Install { su, app }, a).await.map(Written::changed)
    }
    async fn uninstall_app(&self, su: UserId, app: AppId, a: &AuditEntry) -> Result<bool> {
        self.execute(&Write::Uninstall { su, app }, a).await.map(Written::changed)
    }
    async fn insert_token(&self, t: &TokenRecord, a: &AuditEntry) -> Result<()> {
        self.execute(&Write::IssueToken(t.clone()), a).await.map(drop)
    }
    async fn refresh_token(&self, t: &TokenRecord, a: &AuditEntry) -> Result<()> {
        self.execute(&Write::RefreshToken(t.clone()), a).await.map(drop)
    }
    async fn revoke_token(&self, h: &TokenHash, at: i64, a: &AuditEntry) -> Result<bool> {
        self.execute(&Write::RevokeToken { hash: *h, at }, a).await.map(Written::changed)
    }
    async fn revoke_all_for_user(&self, u: UserId, at: i64, a: &AuditEntry) -> Result<u64> {
        match self.execute(&Write::RevokeAllForUser { user: u, at }, a).await? {
            Written::Count(n) => Ok(n),
            other => panic!("revoke-all answered {other:?}"),
        }
    }
    async fn append_audit(&self, a: &AuditEntry) -> Result<()> {
        self.execute(&Write::AuditOnly, a).await.map(drop)
    }
    async fn set_clock_offset(&self, o: i64, a: &AuditEntry) -> Result<()> {
        self.execute(&Write::SetClockOffset(o), a).await.map(drop)
    }
    async fn set_password_hash(&self, u: UserId, phc: &str, a: &AuditEntry) -> Result<()> {
        self.execute(&Write::SetPassword { user: u, phc: phc.to_owned() }, a).await.map(drop)
    }
    async fn create_page(&self, p: &Page, a: &AuditEntry) -> Result<()> {
        self.execute(&Write::CreatePage(p.clone()), a).await.map(drop)
    }
    async fn set_page_role(&self, r: &PageRole, a: &AuditEntry) -> Result<()> {
        self.execute(&Write::SetPageRole(r.clone()), a).await.map(drop)
    }
    async fn remove_page_role(&self, p: PageId, u: UserId, a: &AuditEntry) -> Result<bool> {
        self.execute(&Write::RemovePageRole { page: p, user: u }, a).await.map(Written::changed)
    }
    async fn insert_code(&self, c: &AuthCode, a: &AuditEntry) -> Result<()> {
        self.execute(&Write::InsertCode(c.clone()), a).await.map(drop)
    }
    async fn redeem_code(&self, h: &TokenHash, at: i64, t: &TokenRecord, a: &AuditEntry) -> Result<()> {
        self.execute(&Write::RedeemCode { hash: *h, at, token: t.clone() }, a).await.map(drop)
    }
    async fn reset(&self, a: &AuditEntry) -> Result<()> {
        self.execute(&Write::Reset, a).await.map(drop)
    }
}

fn audit(action: &str) -> AuditEntry {
    AuditEntry::new(1000, action, "operator")
}

fn business(id: u64) -> Business {
    Business { id: BusinessId(id), name: format!("b{id}"), must_use_expiring_tokens: id & 1 == 0, parent_id: None }
}

fn system_user(id: u64, b: u64) -> User {
    User {
        id: UserId(id),
        name: format!("su{id}"),
        business_id: Some(BusinessId(b)),
        kind: UserKind::SystemUser { role: SystemUserRole::Admin },
        session_epoch: 0,
        email: None,
    }
}

fn app(id: u64, owner: Option<u64>) -> StoredApp {
    StoredApp {
        app: App {
            id: AppId(id),
            name: format!("app{id}"),
            owner_business: owner.map(BusinessId),
            access_level: AccessLevel::Advanced,
            is_test_app: true,
            require_app_secret: true,
            permissions: vec!["ads_read".into(), "pages_show_list".into()],
            capabilities: vec!["cap".into()],
            created_at: 1_500_000_000,
            redirect_uris: vec!["https://x.example/cb".into()],
            client_businesses: vec![BusinessId(CLIENT)],
            roles: vec![(TESTER, AppRole::Tester)],
            status: AppStatus::Throttled,
            app_scoped_last_query_at: Some(1_600_000_000),
        },
        sealed_secret: vec![1, 2, 3, 0, 255],
    }
}

fn token(n: u8, user: Option<u64>, parent: Option<u8>) -> TokenRecord {
    TokenRecord {
        hash: TokenHash([n; 32]),
        kind: TokenKind::SystemUser,
        app_id: AppId(20),
        user_id: user.map(UserId),
        page_id: Some(PageId(9)),
        scopes: vec![Scope::from_stored("ads_read".into()), Scope::from_stored("pages_show_list".into())],
        issued_at: 1000 + n as i64,
        expires_at: Some(99_999),
        revoked_at: None,
        parent: parent.map(|p| TokenHash([p; 32])),
        session_epoch: 3,
    }
}

/// The business every [`app`] is shared with.
const CLIENT: u64 = 77;
/// The person with a tester role on every [`app`].
const TESTER: UserId = UserId(7);

fn tester() -> User {
    User {
        id: TESTER,
        name: "tester".into(),
        business_id: None,
        kind: UserKind::Person { admin: false },
        session_epoch: 0,
        email: None,
    }
}

/// What an [`app`] refers to (the store checks that both exist): its client business and its tester.
async fn app_relations(s: &Dyn, audit: impl Fn(&str) -> AuditEntry) {
    s.create_business(&business(CLIENT), &audit("create_business")).await.unwrap();
    s.create_user(&tester(), &audit("create_user")).await.unwrap();
}

/// Audit entries [`world`] appends.
const WORLD_ENTRIES: i64 = 5;

/// A business, a system user in it, and an app it owns (with the app's client business and tester).
async fn world(s: &Dyn) {
    s.create_business(&business(1), &audit("b")).await.unwrap();
    s.create_user(&system_user(10, 1), &audit("u")).await.unwrap();
    app_relations(s, audit).await;
    s.create_app(&app(20, Some(1)), &audit("a")).await.unwrap();
}

pub async fn objects_round_trip(s: Dyn) {
    world(&s).await;
    assert_eq!(s.get_business(BusinessId(1)).await.unwrap(), Some(business(1)));
    assert_eq!(s.get_user(UserId(10)).await.unwrap(), Some(system_user(10, 1)));
    assert_eq!(s.get_app(AppId(20)).await.unwrap().as_deref(), Some(&app(20, Some(1))));
    let person = User {
        id: UserId(11),
        name: "p".into(),
        business_id: None,
        kind: UserKind::Person { admin: true },
        session_epoch: 4,
        email: None,
    };
    s.create_user(&person, &audit("u")).await.unwrap();
    assert_eq!(s.get_user(UserId(11)).await.unwrap(), Some(person));
    assert_eq!(s.get_user(UserId(12)).await.unwrap(), None);
    assert_eq!(s.get_business(BusinessId(2)).await.unwrap(), None);
    assert_eq!(s.get_app(AppId(21)).await.unwrap(), None);
}

pub async fn duplicate_ids_conflict(s: Dyn) {
    world(&s).await;
    assert!(matches!(s.create_business(&business(1), &audit("b")).await, Err(StoreError::Conflict(_))));
    assert!(matches!(s.create_user(&system_user(10, 1), &audit("u")).await, Err(StoreError::Conflict(_))));
    assert!(matches!(s.create_app(&app(20, None), &audit("a")).await, Err(StoreError::Conflict(_))));
    // A failed call appends no audit entry.
    assert_eq!(s.dump().await.unwrap().audit_len, WORLD_ENTRIES);
}

pub async fn ids_are_unique_and_increasing(s: Dyn) {
    let mut last = 0;
    for _ in 0..20 {
        let id = s.next_id().await.unwrap();
        assert!(id > last && id >= 100_000_000_000_001, "{id} after {last}");
        last = id;
    }
    let handles: Vec<_> = (0..16)
        .map(|_| {
            tokio::spawn({
                let s = s.clone();
                async move { s.next_id().await.unwrap() }
            })
        })
        .collect();
    let mut ids = Vec::new();
    for h in handles {
        ids.push(h.await.unwrap());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 16);
}

pub async fn system_users_listed_in_creation_order(s: Dyn) {
    world(&s).await;
    s.create_user(&system_user(5, 1), &audit("u")).await.unwrap();
    let person = User {
        id: UserId(6),
        name: "p".into(),
        business_id: Some(BusinessId(1)),
        kind: UserKind::Person { admin: false },
        session_epoch: 0,
        email: None,
    };
    s.create_user(&person, &audit("u")).await.unwrap();
    let ids: Vec<u64> = s.list_system_users(BusinessId(1)).await.unwrap().iter().map(|u| u.id.0).collect();
    assert_eq!(ids, vec![10, 5]);
    assert!(s.list_system_users(BusinessId(2)).await.unwrap().is_empty());
}

pub async fn installs_are_idempotent(s: Dyn) {
    world(&s).await;
    assert!(!s.is_installed(UserId(10), AppId(20)).await.unwrap());
    assert!(s.install_app(UserId(10), AppId(20), &audit("install")).await.unwrap());
    assert!(!s.install_app(UserId(10), AppId(20), &audit("install")).await.unwrap());
    assert!(s.is_installed(UserId(10), AppId(20)).await.unwrap());
    assert!(matches!(s.install_app(UserId(99), AppId(20), &audit("install")).await, Err(StoreError::NotFound(_))));
}

pub async fn tokens_round_trip_and_revoke(s: Dyn) {
    world(&s).await;
    let t = token(1, Some(10), None);
    s.insert_token(&t, &audit("issue")).await.unwrap();
    assert_eq!(s.get_token(&t.hash).await.unwrap().as_deref(), Some(&t));
    assert_eq!(s.get_token(&TokenHash([2; 32])).await.unwrap(), None);
    assert!(matches!(s.insert_token(&t, &audit("issue")).await, Err(StoreError::Conflict(_))));
    let bare = TokenRecord {
        user_id: None,
        page_id: None,
        expires_at: None,
        scopes: vec![],
        kind: TokenKind::App,
        ..token(3, None, None)
    };
    s.insert_token(&bare, &audit("issue")).await.unwrap();
    assert_eq!(s.get_token(&bare.hash).await.unwrap().as_deref(), Some(&bare));
    assert!(s.revoke_token(&t.hash, 2000, &audit("revoke")).await.unwrap());
    assert!(!s.revoke_token(&t.hash, 3000, &audit("revoke")).await.unwrap());
    assert_eq!(s.get_token(&t.hash).await.unwrap().unwrap().revoked_at, Some(2000));
}

/// Reads of many tokens at once share statements (the store answers concurrent reads in batches): each still gets its
/// own row, or `None` for a hash not stored, whatever else is read beside it, the same hash twice included.
pub async fn concurrent_token_reads_each_get_their_own_row(s: Dyn) {
    world(&s).await;
    s.create_user(&system_user(11, 1), &audit("u")).await.unwrap();
    let stored: Vec<TokenRecord> = (0..150u8)
        .map(|i| match i % 3 {
            0 => tok(1, i, 10, None),
            1 => TokenRecord { expires_at: None, scopes: vec![], ..tok(1, i, 11, Some(TokenHash([i; 32]))) },
            _ => TokenRecord { kind: TokenKind::App, user_id: None, page_id: None, ..tok(1, i, 10, None) },
        })
        .collect();
    for t in &stored {
        s.insert_token(t, &audit("issue")).await.unwrap();
    }
    let mut tasks = Vec::new();
    for round in 0..2 {
        // Stored and unknown hashes interleaved and out of hash order (97 is prime to 250; the second round runs
        // backwards), so a batch's reads are not in the order the database returns their rows (ascending hash).
        let order: Vec<u8> = (0..250u16).map(|k| (k * 97 % 250) as u8).collect();
        let order: Vec<u8> = if round == 0 { order } else { order.into_iter().rev().collect() };
        for i in order {
            let (s, want) = (s.clone(), stored.get(usize::from(i)).cloned());
            let hash = want.as_ref().map_or_else(|| tok(2, i, 10, None).hash, |t| t.hash);
            tasks.push(tokio::spawn(async move {
                assert_eq!(s.get_token(&hash).await.unwrap().as_deref(), want.as_ref(), "round {round}, token {i}");
            }));
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
}

pub async fn revoke_all_touches_only_that_users_live_tokens(s: Dyn) {
    world(&s).await;
    s.create_user(&system_user(11, 1), &audit("u")).await.unwrap();
    for (n, u) in [(1, 10), (2, 10), (3, 11)] {
        s.insert_token(&token(n, Some(u), None), &audit("issue")).await.unwrap();
    }
    // A page token's subject is the system user it was derived for; an app token has none.
    s.insert_token(&TokenRecord { kind: TokenKind::Page, ..token(4, Some(10), Some(1)) }, &audit("issue"))
        .await
        .unwrap();
    s.insert_token(&TokenRecord { kind: TokenKind::App, ..token(5, None, None) }, &audit("issue")).await.unwrap();
    s.revoke_token(&TokenHash([2; 32]), 1500, &audit("revoke")).await.unwrap();
    assert_eq!(s.revoke_all_for_user(UserId(10), 2000, &audit("revoke_all")).await.unwrap(), 2);
    let revoked_at = |n: u8| {
        let s = s.clone();
        async move { s.get_token(&TokenHash([n; 32])).await.unwrap().unwrap().revoked_at }
    };
    assert_eq!(revoked_at(1).await, Some(2000));
    assert_eq!(revoked_at(2).await, Some(1500));
    assert_eq!(revoked_at(3).await, None);
    assert_eq!(revoked_at(4).await, Some(2000));
    assert_eq!(revoked_at(5).await, None);
    assert_eq!(s.revoke_all_for_user(UserId(10), 3000, &audit("revoke_all")).await.unwrap(), 0);
    assert_eq!(revoked_at(1).await, Some(2000));
}

pub async fn refresh_needs_a_live_parent(s: Dyn) {
    world(&s).await;
    s.insert_token(&token(1, Some(10), None), &audit("issue")).await.unwrap();
    s.refresh_token(&token(2, Some(10), Some(1)), &audit("refresh")).await.unwrap();
    assert_eq!(s.get_token(&TokenHash([2; 32])).await.unwrap().unwrap().parent, Some(TokenHash([1; 32])));
    // Missing parent.
    assert!(matches!(
        s.refresh_token(&token(3, Some(10), Some(7)), &audit("refresh")).await,
        Err(StoreError::ParentRevoked)
    ));
    // Revoked parent: nothing written, not even audit.
    s.revoke_token(&TokenHash([1; 32]), 2000, &audit("revoke")).await.unwrap();
    let before = s.dump().await.unwrap();
    assert!(matches!(
        s.refresh_token(&token(4, Some(10), Some(1)), &audit("refresh")).await,
        Err(StoreError::ParentRevoked)
    ));
    assert_eq!(s.get_token(&TokenHash([4; 32])).await.unwrap(), None);
    assert_eq!(s.dump().await.unwrap(), before);
}

/// Refreshes racing a revocation: each refresh either committed before the revoke (its child exists) or failed
/// with ParentRevoked (no child); afterwards no refresh can succeed.
pub async fn refresh_racing_revoke_never_leaves_a_usable_child_after_revoke(s: Dyn) {
    world(&s).await;
    s.insert_token(&token(1, Some(10), None), &audit("issue")).await.unwrap();
    let mut handles = Vec::new();
    for n in 2..34u8 {
        let s1 = s.clone();
        handles.push(tokio::spawn(async move {
            (n, s1.refresh_token(&token(n, Some(10), Some(1)), &audit("refresh")).await)
        }));
        if n == 18 {
            let s2 = s.clone();
            handles.push(tokio::spawn(async move {
                (0, s2.revoke_token(&TokenHash([1; 32]), 5000, &audit("revoke")).await.map(|_| ()))
            }));
        }
    }
    for h in handles {
        let (n, r) = h.await.unwrap();
        let child = if n > 0 { s.get_token(&TokenHash([n; 32])).await.unwrap() } else { None };
        match r {
            Ok(()) if n > 0 => assert!(child.is_some()),
            Ok(()) => {}
            Err(StoreError::ParentRevoked) => assert!(child.is_none(), "a failed refresh left a child"),
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert!(s.get_token(&TokenHash([1; 32])).await.unwrap().unwrap().revoked_at.is_some());
    assert!(matches!(
        s.refresh_token(&token(40, Some(10), Some(1)), &audit("refresh")).await,
        Err(StoreError::ParentRevoked)
    ));
    // The audit entry shares its write's transaction, so the log shows the commit order: every refresh that
    // succeeded was written before the revocation.
    let tail = s.audit_tail(1000).await.unwrap();
    let revoke_seq = tail.iter().find(|a| a.action == "revoke").unwrap().seq;
    assert!(tail.iter().filter(|a| a.action == "refresh").all(|a| a.seq < revoke_seq));
}

/// Revocation first, then many concurrent refreshes: every one fails and nothing at all is written.
pub async fn refreshes_of_a_revoked_parent_all_fail(s: Dyn) {
    world(&s).await;
    s.insert_token(&token(1, Some(10), None), &audit("issue")).await.unwrap();
    s.revoke_token(&TokenHash([1; 32]), 2000, &audit("revoke")).await.unwrap();
    let before = s.dump().await.unwrap();
    let handles: Vec<_> = (2..18u8)
        .map(|n| {
            let s = s.clone();
            tokio::spawn(async move { s.refresh_token(&token(n, Some(10), Some(1)), &audit("refresh")).await })
        })
        .collect();
    for h in handles {
        assert!(matches!(h.await.unwrap(), Err(StoreError::ParentRevoked)));
    }
    assert_eq!(s.dump().await.unwrap(), before);
}

/// "Revoke all" racing refreshes (chains of them) of the same user's tokens: a child committed before the
/// revocation is revoked with everything else, one attempted after fails, so afterwards the user has no live token.
pub async fn revoke_all_racing_refreshes_leaves_no_live_token(s: Dyn) {
    world(&s).await;
    for round in 0..4u8 {
        let base = round * 60 + 1;
        s.insert_token(&token(base, Some(10), None), &audit("issue")).await.unwrap();
        let mut handles = Vec::new();
        for chain in 0..6u8 {
            let s = s.clone();
            handles.push(tokio::spawn(async move {
                // Each chain refreshes its own latest token, so new children keep appearing during the revocation.
                let mut parent = base;
                for step in 0..8u8 {
                    let n = base + 1 + chain * 8 + step;
                    match s.refresh_token(&token(n, Some(10), Some(parent)), &audit("refresh")).await {
                        Ok(()) => parent = n,
                        Err(StoreError::ParentRevoked) => return,
                        Err(e) => panic!("unexpected {e}"),
                    }
                }
            }));
        }
        tokio::task::yield_now().await;
        let revoked = s.revoke_all_for_user(UserId(10), 5000, &audit("revoke_all")).await.unwrap();
        for h in handles {
            h.await.unwrap();
        }
        let live: Vec<_> = s.dump().await.unwrap().tokens.into_iter().filter(|t| t.revoked_at.is_none()).collect();
        assert!(live.is_empty(), "round {round}: {} live after revoking {revoked}: {live:?}", live.len());
    }
}

pub async fn every_write_is_audited_in_order(s: Dyn) {
    world(&s).await;
    let t = token(1, Some(10), None);
    let e = AuditEntry::new(1234, "issue", "3001")
        .subject(UserId(10))
        .app(AppId(20))
        .token(&t.hash)
        .detail(serde_json::json!({"scopes": ["ads_read"]}));
    s.insert_token(&t, &e).await.unwrap();
    s.install_app(UserId(10), AppId(20), &audit("install")).await.unwrap();
    s.revoke_token(&t.hash, 2000, &audit("revoke")).await.unwrap();
    s.append_audit(&audit("operator")).await.unwrap();
    let tail = s.audit_tail(100).await.unwrap();
    let actions: Vec<&str> = tail.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(actions, ["b", "u", "create_business", "create_user", "a", "issue", "install", "revoke", "operator"]);
    assert!(tail.windows(2).all(|w| w[0].seq < w[1].seq));
    let issued = &tail[5];
    assert_eq!(
        (issued.at, issued.actor.as_str(), issued.subject, issued.app_id),
        (1234, "3001", Some(UserId(10)), Some(AppId(20)))
    );
    assert_eq!(issued.token_ref, Some(t.hash.reference()));
    assert_eq!(issued.detail, serde_json::json!({"scopes": ["ads_read"]}));
    assert_eq!(
        s.audit_tail(2).await.unwrap().iter().map(|a| a.action.as_str()).collect::<Vec<_>>(),
        ["revoke", "operator"]
    );
}

/// Every mutating call appends exactly its own entry; a call that fails appends nothing.
pub async fn every_mutating_call_appends_exactly_one_entry(s: Dyn) {
    let page = Page { id: PageId(30), name: "p".into(), business_id: BusinessId(1), category: None };
    let role = PageRole { page_id: PageId(30), user_id: UserId(10), tasks: vec![PageTask::Manage] };
    let code = AuthCode {
        hash: TokenHash([7; 32]),
        app_id: AppId(20),
        user_id: UserId(10),
        redirect_uri: "https://x.example/cb".into(),
        scopes: vec![],
        created_at: 100,
        used_at: None,
        session_epoch: 0,
    };
    let e = audit;
    s.create_business(&business(1), &e("create_business")).await.unwrap();
    s.create_user(&system_user(10, 1), &e("create_user")).await.unwrap();
    app_relations(&s, e).await;
    s.create_app(&app(20, Some(1)), &e("create_app")).await.unwrap();
    s.bump_session_epoch(UserId(10), &e("bump_session_epoch")).await.unwrap();
    s.install_app(UserId(10), AppId(20), &e("install_app")).await.unwrap();
    s.insert_token(&token(1, Some(10), None), &e("insert_token")).await.unwrap();
    s.refresh_token(&token(2, Some(10), Some(1)), &e("refresh_token")).await.unwrap();
    s.revoke_token(&TokenHash([1; 32]), 2000, &e("revoke_token")).await.unwrap();
    s.revoke_all_for_user(UserId(10), 2000, &e("revoke_all_for_user")).await.unwrap();
    s.append_audit(&e("append_audit")).await.unwrap();
    s.set_clock_offset(5, &e("set_clock_offset")).await.unwrap();
    s.set_password_hash(UserId(10), "$argon2id$x", &e("set_password_hash")).await.unwrap();
    s.execute(&Write::ResetSecret { app: AppId(20), sealed_secret: vec![4] }, &e("update_app")).await.unwrap();
    s.uninstall_app(UserId(10), AppId(20), &e("uninstall_app")).await.unwrap();
    s.create_page(&page, &e("create_page")).await.unwrap();
    s.set_page_role(&role, &e("set_page_role")).await.unwrap();
    s.remove_page_role(PageId(30), UserId(10), &e("remove_page_role")).await.unwrap();
    s.insert_code(&code, &e("insert_code")).await.unwrap();
    s.redeem_code(&code.hash, 150, &token(3, Some(10), None), &e("redeem_code")).await.unwrap();
    // Failures.
    s.create_business(&business(1), &e("fail")).await.unwrap_err();
    s.bump_session_epoch(UserId(99), &e("fail")).await.unwrap_err();
    s.install_app(UserId(99), AppId(20), &e("fail")).await.unwrap_err();
    s.insert_token(&token(1, Some(10), None), &e("fail")).await.unwrap_err();
    s.refresh_token(&token(4, Some(10), Some(1)), &e("fail")).await.unwrap_err();
    s.set_password_hash(UserId(99), "x", &e("fail")).await.unwrap_err();
    s.execute(&Write::ResetSecret { app: AppId(21), sealed_secret: vec![4] }, &e("fail")).await.unwrap_err();
    s.set_page_role(&PageRole { page_id: PageId(31), ..role }, &e("fail")).await.unwrap_err();
    s.redeem_code(&code.hash, 160, &token(5, Some(10), None), &e("fail")).await.unwrap_err();
    s.reset(&e("reset")).await.unwrap();
    let actions: Vec<String> = s.audit_tail(1000).await.unwrap().into_iter().map(|a| a.action).collect();
    assert_eq!(
        actions,
        [
            "create_business",
            "create_user",
            "create_business",
            "create_user",
            "create_app",
            "bump_session_epoch",
            "install_app",
            "insert_token",
            "refresh_token",
            "revoke_token",
            "revoke_all_for_user",
            "append_audit",
            "set_clock_offset",
            "set_password_hash",
            "update_app",
            "uninstall_app",
            "create_page",
            "set_page_role",
            "remove_page_role",
            "insert_code",
            "redeem_code",
            "reset"
        ]
    );
    assert_eq!(s.dump().await.unwrap().audit_len, actions.len() as i64);
}

pub async fn clock_offset_persists(s: Dyn) {
    assert_eq!(s.clock_offset().await.unwrap(), 0);
    s.set_clock_offset(86_400 * 61, &audit("clock")).await.unwrap();
    assert_eq!(s.clock_offset().await.unwrap(), 86_400 * 61);
}

pub async fn session_epoch_bumps(s: Dyn) {
    world(&s).await;
    assert_eq!(s.bump_session_epoch(UserId(10), &audit("pw")).await.unwrap(), 1);
    assert_eq!(s.bump_session_epoch(UserId(10), &audit("pw")).await.unwrap(), 2);
    assert_eq!(s.get_user(UserId(10)).await.unwrap().unwrap().session_epoch, 2);
    assert!(matches!(s.bump_session_epoch(UserId(99), &audit("pw")).await, Err(StoreError::NotFound(_))));
}

pub async fn reset_keeps_the_audit_log(s: Dyn) {
    world(&s).await;
    s.install_app(UserId(10), AppId(20), &audit("install")).await.unwrap();
    s.insert_token(&token(1, Some(10), None), &audit("issue")).await.unwrap();
    s.set_clock_offset(50, &audit("clock")).await.unwrap();
    let before = s.dump().await.unwrap().audit_len;
    s.reset(&audit("reset")).await.unwrap();
    let d = s.dump().await.unwrap();
    assert!(
        d.businesses.is_empty()
            && d.users.is_empty()
            && d.apps.is_empty()
            && d.installs.is_empty()
            && d.tokens.is_empty()
    );
    assert_eq!(d.audit_len, before + 1);
    assert_eq!(d.clock_offset, 0);
    // The world can be created again with the same ids.
    world(&s).await;
}

pub async fn dump_is_complete_and_ordered(s: Dyn) {
    world(&s).await;
    s.create_business(&business(0), &audit("b")).await.unwrap();
    s.create_user(&system_user(5, 0), &audit("u")).await.unwrap();
    s.create_app(&app(19, None), &audit("a")).await.unwrap();
    s.install_app(UserId(10), AppId(20), &audit("install")).await.unwrap();
    s.install_app(UserId(5), AppId(20), &audit("install")).await.unwrap();
    s.install_app(UserId(10), AppId(19), &audit("install")).await.unwrap();
    for (id, b) in [(31, 1), (30, 0)] {
        s.create_page(
            &Page { id: PageId(id), name: format!("p{id}"), business_id: BusinessId(b), category: None },
            &audit("page"),
        )
        .await
        .unwrap();
    }
    for (p, u) in [(31, 5), (30, 10), (30, 5)] {
        let role = PageRole { page_id: PageId(p), user_id: UserId(u), tasks: vec![PageTask::Analyze] };
        s.set_page_role(&role, &audit("assign")).await.unwrap();
    }
    s.insert_token(&token(2, Some(10), None), &audit("issue")).await.unwrap();
    s.insert_token(&token(1, Some(10), None), &audit("issue")).await.unwrap();
    // Tokens come oldest first, then by hash: this one is the oldest although its hash sorts last.
    s.insert_token(&TokenRecord { issued_at: 500, ..token(9, Some(5), None) }, &audit("issue")).await.unwrap();
    s.revoke_token(&TokenHash([2; 32]), 2000, &audit("revoke")).await.unwrap();
    s.set_clock_offset(-30, &audit("clock")).await.unwrap();
    let d = s.dump().await.unwrap();
    assert_eq!(d.businesses, vec![business(0), business(1), business(CLIENT)]);
    assert_eq!(d.users, vec![system_user(5, 0), tester(), system_user(10, 1)]);
    assert_eq!(d.apps, vec![app(19, None).app, app(20, Some(1)).app]);
    assert_eq!(d.installs, vec![(UserId(5), AppId(20)), (UserId(10), AppId(19)), (UserId(10), AppId(20))]);
    assert_eq!(d.pages.iter().map(|p| p.id.0).collect::<Vec<_>>(), [30, 31]);
    assert_eq!(
        d.page_roles.iter().map(|r| (r.page_id.0, r.user_id.0)).collect::<Vec<_>>(),
        [(30, 5), (30, 10), (31, 5)]
    );
    let refs: Vec<String> = [9u8, 1, 2].iter().map(|n| TokenHash([*n; 32]).reference()).collect();
    assert_eq!(d.tokens.iter().map(|t| t.token_ref.clone()).collect::<Vec<_>>(), refs);
    let t = &d.tokens[2];
    assert_eq!(
        (t.kind.as_str(), t.app_id, t.user_id, t.issued_at, t.expires_at, t.revoked_at),
        ("SYSTEM_USER", AppId(20), Some(UserId(10)), 1002, Some(99_999), Some(2000))
    );
    assert_eq!(t.scopes, ["ads_read", "pages_show_list"]);
    assert_eq!((d.audit_len, d.clock_offset), (s.audit_tail(1000).await.unwrap().len() as i64, -30));
    // Dumps never carry a full token hash.
    assert!(!serde_json::to_string(&d).unwrap().contains(&TokenHash([1; 32]).to_hex()));
}

/// Many issuances at once (group-committed on SQLite): each succeeds or fails on its own, all are durable and
/// audited, and a duplicate fails alone.
pub async fn concurrent_issuance_is_individually_acknowledged(s: Dyn) {
    world(&s).await;
    let before = s.dump().await.unwrap().audit_len;
    let mut handles = Vec::new();
    for i in 0..200u32 {
        let s = s.clone();
        handles.push(tokio::spawn(async move {
            let mut t = token(0, Some(10), None);
            // 200 distinct hashes, plus one deliberate duplicate of #5.
            t.hash = TokenHash(if i == 199 {
                [5; 32]
            } else {
                let mut h = [0u8; 32];
                h[..4].copy_from_slice(&i.to_be_bytes());
                h[31] = 1;
                h
            });
            if i == 5 {
                t.hash = TokenHash([5; 32]);
            }
            (i, s.insert_token(&t, &audit("issue")).await)
        }));
    }
    let mut failed = Vec::new();
    for h in handles {
        let (i, r) = h.await.unwrap();
        match r {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => failed.push(i),
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(failed.len(), 1, "exactly one of the duplicate pair fails: {failed:?}");
    assert!(failed[0] == 5 || failed[0] == 199);
    let d = s.dump().await.unwrap();
    assert_eq!(d.tokens.len(), 199);
    assert_eq!(d.audit_len, before + 199);
}

/// Statements outside the writer's groups (a fresh id, an app-scoped id) get a write connection while writes keep
/// coming: the writer keeps its connection between back-to-back groups, and must hand it back when one waits. The
/// timeout is a liveness bound (without the hand-back they wait for the pool's own timeout), not a speed claim.
pub async fn ids_are_allocated_while_writes_keep_coming(s: Dyn) {
    world(&s).await;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let issued = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let writers: Vec<_> = (0..32u32)
        .map(|w| {
            let (s, stop, issued) = (s.clone(), stop.clone(), issued.clone());
            tokio::spawn(async move {
                let mut n = 0u32;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let mut t = token(0, Some(10), None);
                    let mut h = [7u8; 32];
                    h[..4].copy_from_slice(&w.to_be_bytes());
                    h[4..8].copy_from_slice(&n.to_be_bytes());
                    t.hash = TokenHash(h);
                    s.insert_token(&t, &audit("issue")).await.unwrap();
                    issued.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    n += 1;
                }
            })
        })
        .collect();
    // The writes are flowing before the first id is asked for.
    let bound = std::time::Duration::from_secs(10);
    let flowing = async {
        while issued.load(std::sync::atomic::Ordering::Relaxed) < 200 {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(bound, flowing).await.expect("writes flowing");
    let mut last = 0;
    for _ in 0..5 {
        let id = tokio::time::timeout(bound, s.next_id()).await.expect("an id while writes keep coming").unwrap();
        assert!(id > last);
        last = id;
    }
    let scoped = tokio::time::timeout(bound, s.app_scoped_id(AppId(20), UserId(10)))
        .await
        .expect("an app-scoped id while writes keep coming")
        .unwrap();
    assert_eq!(s.app_scoped_id(AppId(20), UserId(10)).await.unwrap(), scoped);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    // Every acknowledged write, and only those, is in the store.
    assert_eq!(s.dump().await.unwrap().tokens.len() as u32, issued.load(std::sync::atomic::Ordering::Relaxed));
}

pub async fn password_hashes(s: Dyn) {
    world(&s).await;
    assert_eq!(s.get_password_hash(UserId(10)).await.unwrap(), None);
    s.set_password_hash(UserId(10), "$argon2id$a", &audit("pw")).await.unwrap();
    s.set_password_hash(UserId(10), "$argon2id$b", &audit("pw")).await.unwrap();
    assert_eq!(s.get_password_hash(UserId(10)).await.unwrap().as_deref(), Some("$argon2id$b"));
    assert!(matches!(s.set_password_hash(UserId(99), "x", &audit("pw")).await, Err(StoreError::NotFound(_))));
}

pub async fn apps_update_and_uninstall(s: Dyn) {
    world(&s).await;
    s.create_business(&business(2), &audit("b")).await.unwrap();
    let mut a = app(20, Some(1));
    a.app.client_businesses.push(BusinessId(2));
    a.app.roles.push((UserId(10), AppRole::Developer));
    a.sealed_secret = vec![9, 9];
    let share = Write::ShareApp { app: AppId(20), business: BusinessId(2) };
    assert_eq!(s.execute(&share, &audit("share")).await.unwrap(), Written::Changed(true));
    assert_eq!(s.execute(&share, &audit("share")).await.unwrap(), Written::Changed(false));
    let role = Write::SetAppRole { app: AppId(20), user: UserId(10), role: AppRole::Developer };
    s.execute(&role, &audit("role")).await.unwrap();
    s.execute(&Write::ResetSecret { app: AppId(20), sealed_secret: vec![9, 9] }, &audit("reset")).await.unwrap();
    assert_eq!(s.get_app(AppId(20)).await.unwrap().as_deref(), Some(&a));
    // A role set again replaces the old one.
    let tester = Write::SetAppRole { app: AppId(20), user: UserId(10), role: AppRole::Tester };
    s.execute(&tester, &audit("role")).await.unwrap();
    assert_eq!(s.get_app(AppId(20)).await.unwrap().unwrap().app.role_of(UserId(10)), Some(AppRole::Tester));
    for missing in [
        Write::ResetSecret { app: AppId(21), sealed_secret: vec![1] },
        Write::ShareApp { app: AppId(21), business: BusinessId(2) },
        Write::SetAppRole { app: AppId(21), user: UserId(10), role: AppRole::Tester },
        Write::SetAppRole { app: AppId(20), user: UserId(99), role: AppRole::Tester },
    ] {
        assert!(matches!(s.execute(&missing, &audit("x")).await, Err(StoreError::NotFound(_))), "{missing:?}");
    }
    s.install_app(UserId(10), AppId(20), &audit("install")).await.unwrap();
    assert!(s.uninstall_app(UserId(10), AppId(20), &audit("uninstall")).await.unwrap());
    assert!(!s.uninstall_app(UserId(10), AppId(20), &audit("uninstall")).await.unwrap());
    assert!(!s.is_installed(UserId(10), AppId(20)).await.unwrap());
}

/// Roles and shares are rows of their own: concurrent changes to one app all land, none overwriting another.
pub async fn concurrent_app_updates_all_land(s: Dyn) {
    world(&s).await;
    let users: Vec<UserId> = (100..116).map(UserId).collect();
    let businesses: Vec<BusinessId> = (200..216).map(BusinessId).collect();
    for (u, b) in users.iter().zip(&businesses) {
        s.create_user(&system_user(u.0, 1), &audit("u")).await.unwrap();
        s.create_business(&business(b.0), &audit("b")).await.unwrap();
    }
    let mut handles = Vec::new();
    for (u, b) in users.iter().zip(&businesses) {
        for w in [
            Write::SetAppRole { app: AppId(20), user: *u, role: AppRole::Developer },
            Write::ShareApp { app: AppId(20), business: *b },
        ] {
            let s = s.clone();
            handles.push(tokio::spawn(async move { s.execute(&w, &audit("app")).await.unwrap() }));
        }
    }
    for h in handles {
        h.await.unwrap();
    }
    let app = s.get_app(AppId(20)).await.unwrap().unwrap().app.clone();
    for (u, b) in users.iter().zip(&businesses) {
        assert_eq!(app.role_of(*u), Some(AppRole::Developer), "{u}");
        assert!(app.client_businesses.contains(b), "{b}");
    }
    assert_eq!((app.roles.len(), app.client_businesses.len()), (users.len() + 1, businesses.len() + 1));
    // The first role and share (the app's own) still come first, as `App` lists them in the order given.
    assert_eq!((app.roles[0], app.client_businesses[0]), ((TESTER, AppRole::Tester), BusinessId(CLIENT)));
}

/// The operator's app update replaces only the fields it names; an unknown app is refused and nothing is written.
pub async fn app_status_and_last_query_update(s: Dyn) {
    world(&s).await;
    let get = || {
        let s = s.clone();
        async move { s.get_app(AppId(20)).await.unwrap().unwrap().app.clone() }
    };
    assert_eq!((get().await.status, get().await.app_scoped_last_query_at), (AppStatus::Throttled, Some(1_600_000_000)));
    let status = Write::UpdateApp {
        app: AppId(20),
        status: Some(AppStatus::Deleted),
        app_scoped_last_query_at: None,
        settings: Default::default(),
    };
    s.execute(&status, &audit("app_status")).await.unwrap();
    assert_eq!((get().await.status, get().await.app_scoped_last_query_at), (AppStatus::Deleted, Some(1_600_000_000)));
    let lapse = Write::UpdateApp {
        app: AppId(20),
        status: None,
        app_scoped_last_query_at: Some(5),
        settings: Default::default(),
    };
    s.execute(&lapse, &audit("app_status")).await.unwrap();
    assert_eq!((get().await.status, get().await.app_scoped_last_query_at), (AppStatus::Deleted, Some(5)));
    let both = Write::UpdateApp {
        app: AppId(20),
        status: Some(AppStatus::Active),
        app_scoped_last_query_at: Some(6),
        settings: Default::default(),
    };
    s.execute(&both, &audit("app_status")).await.unwrap();
    assert_eq!((get().await.status, get().await.app_scoped_last_query_at), (AppStatus::Active, Some(6)));
    let before = s.dump().await.unwrap();
    let ghost = Write::UpdateApp {
        app: AppId(21),
        status: Some(AppStatus::Disabled),
        app_scoped_last_query_at: None,
        settings: Default::default(),
    };
    assert!(matches!(s.execute(&ghost, &audit("app_status")).await, Err(StoreError::NotFound(_))));
    assert_eq!(s.dump().await.unwrap(), before);
    // The dump shows the stored status.
    assert!(s.dump().await.unwrap().apps.iter().all(|a| a.status == AppStatus::Active));
    // Settings: each one given replaces the stored one, the others stay.
    let settings = crate::AppSettings {
        redirect_uris: Some(vec!["https://new.example/cb".into()]),
        require_app_secret: Some(true),
        access_level: Some(AccessLevel::Advanced),
        is_test_app: Some(true),
        permissions: Some(vec!["ads_read".into()]),
        capabilities: Some(vec!["x".into()]),
    };
    let edit = Write::UpdateApp { app: AppId(20), status: None, app_scoped_last_query_at: None, settings };
    s.execute(&edit, &audit("update_app")).await.unwrap();
    let a = get().await;
    assert_eq!(a.redirect_uris, ["https://new.example/cb"]);
    assert!(a.require_app_secret && a.is_test_app);
    assert_eq!(
        (a.access_level, a.permissions, a.capabilities),
        (AccessLevel::Advanced, vec!["ads_read".into()], vec!["x".into()])
    );
    assert_eq!((a.status, a.app_scoped_last_query_at, a.name), (AppStatus::Active, Some(6), app(20, Some(1)).app.name));
    let one = crate::AppSettings { require_app_secret: Some(false), ..Default::default() };
    s.execute(
        &Write::UpdateApp { app: AppId(20), status: None, app_scoped_last_query_at: None, settings: one },
        &audit("update_app"),
    )
    .await
    .unwrap();
    let b = get().await;
    assert!(!b.require_app_secret);
    assert_eq!(b.redirect_uris, ["https://new.example/cb"], "fields not given stay");
}

/// A token generated through an app-scoped id stamps its app in the same transaction: both or neither.
pub async fn app_scoped_issuance_stamps_its_app(s: Dyn) {
    world(&s).await;
    let t = token(1, Some(10), None);
    s.execute(&Write::IssueAppScopedToken(t.clone()), &audit("issue")).await.unwrap();
    assert_eq!(s.get_token(&t.hash).await.unwrap().as_deref(), Some(&t));
    let app = s.get_app(AppId(20)).await.unwrap().unwrap();
    assert_eq!(app.app.app_scoped_last_query_at, Some(t.issued_at));
    // The same hash again: the insert fails, and the stamp it would have moved stays where it was.
    let again = TokenRecord { issued_at: 5000, ..t.clone() };
    let before = s.dump().await.unwrap();
    assert!(matches!(
        s.execute(&Write::IssueAppScopedToken(again), &audit("issue")).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(s.get_app(AppId(20)).await.unwrap().unwrap().app.app_scoped_last_query_at, Some(t.issued_at));
    assert_eq!(s.dump().await.unwrap(), before);
    // A token of an unknown app is not written.
    let ghost = TokenRecord { app_id: AppId(21), ..token(2, Some(10), None) };
    assert!(matches!(
        s.execute(&Write::IssueAppScopedToken(ghost), &audit("issue")).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(s.get_token(&TokenHash([2; 32])).await.unwrap(), None);
    assert_eq!(s.dump().await.unwrap(), before);
}

/// Child businesses keep their parent and are listed by it, by id; a parent that does not exist is refused.
pub async fn child_businesses_round_trip_and_list(s: Dyn) {
    world(&s).await;
    let child = |id: u64| Business { parent_id: Some(BusinessId(1)), ..business(id) };
    s.create_business(&child(3), &audit("b")).await.unwrap();
    s.create_business(&child(2), &audit("b")).await.unwrap();
    assert_eq!(s.get_business(BusinessId(3)).await.unwrap(), Some(child(3)));
    assert_eq!(s.list_child_businesses(BusinessId(1)).await.unwrap(), vec![child(2), child(3)]);
    assert!(s.list_child_businesses(BusinessId(2)).await.unwrap().is_empty());
    let before = s.dump().await.unwrap();
    let orphan = Business { parent_id: Some(BusinessId(99)), ..business(4) };
    assert!(matches!(s.create_business(&orphan, &audit("b")).await, Err(StoreError::NotFound(_))));
    assert_eq!(s.dump().await.unwrap(), before);
    assert_eq!(before.businesses.iter().filter(|b| b.parent_id == Some(BusinessId(1))).count(), 2);
}

pub async fn app_scoped_ids_are_stable_and_resolvable(s: Dyn) {
    world(&s).await;
    let a = s.app_scoped_id(AppId(20), UserId(10)).await.unwrap();
    assert_eq!(s.app_scoped_id(AppId(20), UserId(10)).await.unwrap(), a);
    assert_ne!(a, UserId(10));
    let b = s.app_scoped_id(AppId(21), UserId(10)).await.unwrap();
    assert_ne!(a, b);
    assert_eq!(s.resolve_app_scoped_id(a).await.unwrap(), Some((AppId(20), UserId(10))));
    assert_eq!(s.resolve_app_scoped_id(UserId(10)).await.unwrap(), None);
}

pub async fn pages_and_roles(s: Dyn) {
    world(&s).await;
    let p = Page { id: PageId(30), name: "Acme Page".into(), business_id: BusinessId(1), category: None };
    s.create_page(&p, &audit("page")).await.unwrap();
    assert!(matches!(s.create_page(&p, &audit("page")).await, Err(StoreError::Conflict(_))));
    assert_eq!(s.get_page(PageId(30)).await.unwrap(), Some(p.clone()));
    assert_eq!(s.list_business_pages(BusinessId(1)).await.unwrap(), vec![p.clone()]);
    let role = PageRole { page_id: PageId(30), user_id: UserId(10), tasks: vec![PageTask::Manage, PageTask::Analyze] };
    s.set_page_role(&role, &audit("assign")).await.unwrap();
    let narrower = PageRole { tasks: vec![PageTask::Moderate], ..role.clone() };
    s.set_page_role(&narrower, &audit("assign")).await.unwrap();
    assert_eq!(s.get_page_role(PageId(30), UserId(10)).await.unwrap(), Some(narrower.clone()));
    assert_eq!(s.list_page_roles(PageId(30)).await.unwrap(), vec![narrower.clone()]);
    assert_eq!(s.list_user_pages(UserId(10)).await.unwrap(), vec![(p, narrower)]);
    assert!(s.remove_page_role(PageId(30), UserId(10), &audit("unassign")).await.unwrap());
    assert!(!s.remove_page_role(PageId(30), UserId(10), &audit("unassign")).await.unwrap());
    assert!(s.list_user_pages(UserId(10)).await.unwrap().is_empty());
    let ghost = PageRole { page_id: PageId(31), ..role };
    assert!(matches!(s.set_page_role(&ghost, &audit("assign")).await, Err(StoreError::NotFound(_))));
}

pub async fn codes_redeem_once(s: Dyn) {
    world(&s).await;
    let code = AuthCode {
        hash: TokenHash([7; 32]),
        app_id: AppId(20),
        user_id: UserId(10),
        redirect_uri: "https://x.example/cb".into(),
        scopes: vec![Scope::from_stored("email".into())],
        created_at: 100,
        used_at: None,
        // Non-zero, so the round trip below shows the column is stored and read back.
        session_epoch: 3,
    };
    s.insert_code(&code, &audit("code")).await.unwrap();
    assert_eq!(s.get_code(&code.hash).await.unwrap(), Some(code.clone()));
    // Two concurrent redemptions: exactly one wins, and only its token exists.
    let (t1, t2, e) = (token(1, Some(10), None), token(2, Some(10), None), audit("exchange"));
    let (a, b) = tokio::join!(s.redeem_code(&code.hash, 150, &t1, &e), s.redeem_code(&code.hash, 151, &t2, &e));
    assert!(a.is_ok() != b.is_ok(), "{a:?} {b:?}");
    let used = s.get_code(&code.hash).await.unwrap().unwrap().used_at;
    assert!(matches!(used, Some(150 | 151)));
    assert!(matches!(
        s.redeem_code(&code.hash, 200, &token(3, Some(10), None), &audit("exchange")).await,
        Err(StoreError::CodeUsed)
    ));
    assert_eq!(s.get_token(&TokenHash([3; 32])).await.unwrap(), None);
    let tokens = [s.get_token(&TokenHash([1; 32])).await.unwrap(), s.get_token(&TokenHash([2; 32])).await.unwrap()];
    assert_eq!(tokens.iter().filter(|t| t.is_some()).count(), 1);
}

/// A person's answers per permission: recorded with the code or token of the consent, replaced by later answers
/// (new permissions after the ones asked before), one taken back, all forgotten on removal; and nothing of a
/// consent is written when any part of it fails.
pub async fn consent_answers_and_deauthorization(s: Dyn) {
    use suat_core::oauth::{Authorization, PermissionStatus::*};
    world(&s).await;
    let sc = |n: &str| Scope::from_stored(n.into());
    let (tester, app) = (TESTER, AppId(20));
    assert_eq!(s.get_authorization(tester, app).await.unwrap(), Authorization::default());
    let code = AuthCode {
        hash: TokenHash([8; 32]),
        app_id: app,
        user_id: tester,
        redirect_uri: "https://x.example/cb".into(),
        scopes: vec![sc("email")],
        created_at: 100,
        used_at: None,
        session_epoch: 0,
    };
    let first = Write::Consent {
        user: tester,
        app,
        answers: vec![(sc("email"), Granted), (sc("user_posts"), Declined)],
        code: Some(code.clone()),
        token: None,
    };
    s.execute(&first, &audit("authorize")).await.unwrap();
    assert_eq!(s.get_code(&code.hash).await.unwrap(), Some(code.clone()));
    let mut t = token(4, Some(TESTER.0), None);
    (t.kind, t.page_id) = (TokenKind::User, None);
    let second = Write::Consent {
        user: tester,
        app,
        answers: vec![(sc("public_profile"), Granted), (sc("user_posts"), Granted)],
        code: None,
        token: Some(t.clone()),
    };
    s.execute(&second, &audit("authorize")).await.unwrap();
    assert_eq!(s.get_token(&t.hash).await.unwrap().as_deref(), Some(&t));
    let auth = s.get_authorization(tester, app).await.unwrap();
    assert_eq!(
        auth.answers,
        vec![(sc("email"), Granted), (sc("user_posts"), Granted), (sc("public_profile"), Granted)],
        "answers keep the order first asked, later answers replace earlier ones"
    );
    let decline = Write::DeclinePermission { user: tester, app, permission: sc("email") };
    assert_eq!(s.execute(&decline, &audit("decline")).await.unwrap(), Written::Changed(true));
    assert_eq!(s.execute(&decline, &audit("decline")).await.unwrap(), Written::Changed(false));
    assert_eq!(s.get_authorization(tester, app).await.unwrap().answers[0], (sc("email"), Declined));
    // A consent whose code already exists fails whole: no answer of it is recorded.
    let clash = Write::Consent {
        user: tester,
        app,
        answers: vec![(sc("ads_read"), Granted)],
        code: Some(code.clone()),
        token: None,
    };
    assert!(s.execute(&clash, &audit("authorize")).await.is_err());
    assert_eq!(s.get_authorization(tester, app).await.unwrap().answers.len(), 3);
    // Removal forgets the answers and remembers when; a later removal moves the time.
    s.execute(&Write::Deauthorize { user: tester, app, at: 500 }, &audit("deauthorize")).await.unwrap();
    assert_eq!(
        s.get_authorization(tester, app).await.unwrap(),
        Authorization { answers: vec![], deauthorized_at: Some(500) }
    );
    s.execute(&Write::Deauthorize { user: tester, app, at: 600 }, &audit("deauthorize")).await.unwrap();
    assert_eq!(s.get_authorization(tester, app).await.unwrap().deauthorized_at, Some(600));
    // Answers for an unknown app are refused by the database.
    let ghost =
        Write::Consent { user: tester, app: AppId(21), answers: vec![(sc("email"), Granted)], code: None, token: None };
    assert!(matches!(s.execute(&ghost, &audit("authorize")).await, Err(StoreError::NotFound(_))), "unknown app");
    // Reset forgets it all.
    s.reset(&audit("reset")).await.unwrap();
    world(&s).await;
    assert_eq!(s.get_authorization(tester, app).await.unwrap(), Authorization::default());
}

/// A snapshot holds every table (each kind of row at least once here), survives JSON, and a restore after a reset
/// gives back the same snapshot, the same dump (but for the audit log, which only grows) and the same next id; a
/// restore the database refuses changes nothing.
pub async fn snapshot_round_trips_through_json_and_restore(s: Dyn) {
    use suat_core::oauth::PermissionStatus::*;
    world(&s).await;
    let child = Business { parent_id: Some(BusinessId(1)), ..business(3) };
    s.create_business(&child, &audit("b")).await.unwrap();
    s.set_password_hash(TESTER, "$argon2id$v=19$stub", &audit("pw")).await.unwrap();
    s.install_app(UserId(10), AppId(20), &audit("install")).await.unwrap();
    s.execute(&Write::ShareApp { app: AppId(20), business: BusinessId(3) }, &audit("share")).await.unwrap();
    let page = Page { id: PageId(30), name: "p".into(), business_id: BusinessId(1), category: Some("Brand".into()) };
    s.create_page(&page, &audit("page")).await.unwrap();
    let role = PageRole { page_id: PageId(30), user_id: UserId(10), tasks: vec![PageTask::Manage] };
    s.set_page_role(&role, &audit("assign")).await.unwrap();
    s.insert_token(&token(1, Some(10), None), &audit("issue")).await.unwrap();
    s.refresh_token(&token(2, Some(10), Some(1)), &audit("refresh")).await.unwrap();
    s.revoke_token(&TokenHash([1; 32]), 1500, &audit("revoke")).await.unwrap();
    let sc = |n: &str| Scope::from_stored(n.into());
    let code = AuthCode {
        hash: TokenHash([8; 32]),
        app_id: AppId(20),
        user_id: TESTER,
        redirect_uri: "https://x.example/cb".into(),
        scopes: vec![sc("email")],
        created_at: 100,
        used_at: None,
        session_epoch: 0,
    };
    let answers = vec![(sc("email"), Granted), (sc("user_posts"), Declined)];
    let consent = Write::Consent { user: TESTER, app: AppId(20), answers, code: Some(code), token: None };
    s.execute(&consent, &audit("authorize")).await.unwrap();
    s.execute(&Write::Deauthorize { user: UserId(10), app: AppId(20), at: 7 }, &audit("deauthorize")).await.unwrap();
    s.app_scoped_id(AppId(20), UserId(10)).await.unwrap();
    s.bump_session_epoch(UserId(10), &audit("pw")).await.unwrap();
    s.set_clock_offset(86_400, &audit("clock")).await.unwrap();

    let before = s.snapshot().await.unwrap();
    for (what, n) in [
        ("businesses", before.businesses.len()),
        ("users", before.users.len()),
        ("credentials", before.credentials.len()),
        ("apps", before.apps.len()),
        ("app_roles", before.app_roles.len()),
        ("app_clients", before.app_clients.len()),
        ("installs", before.installs.len()),
        ("pages", before.pages.len()),
        ("page_roles", before.page_roles.len()),
        ("tokens", before.tokens.len()),
        ("auth_codes", before.auth_codes.len()),
        ("app_scoped_ids", before.app_scoped_ids.len()),
        ("app_permissions", before.app_permissions.len()),
        ("app_deauthorizations", before.app_deauthorizations.len()),
    ] {
        assert!(n > 0, "the snapshot has no {what}");
    }
    assert_eq!(before.clock_offset, 86_400);
    let dump_before = s.dump().await.unwrap();
    let text = serde_json::to_string(&before).unwrap();
    let parsed: crate::Snapshot = serde_json::from_str(&text).unwrap();
    assert_eq!(parsed, before);

    s.reset(&audit("reset")).await.unwrap();
    assert_eq!(s.dump().await.unwrap().tokens.len(), 0);
    s.execute(&Write::Restore(Box::new(parsed)), &audit("restore")).await.unwrap();
    assert_eq!(s.snapshot().await.unwrap(), before);
    let dump_after = s.dump().await.unwrap();
    assert_eq!(Dump { audit_len: 0, ..dump_after.clone() }, Dump { audit_len: 0, ..dump_before });
    assert_eq!(dump_after.audit_len, s.audit_tail(10_000).await.unwrap().len() as i64);
    assert_eq!(s.clock_offset().await.unwrap(), 86_400);
    assert_eq!(s.get_token(&TokenHash([2; 32])).await.unwrap().as_deref(), Some(&token(2, Some(10), Some(1))));
    assert_eq!(s.next_id().await.unwrap(), before.next_id, "ids continue from where the snapshot left them");

    // A snapshot the database refuses (an install naming no user) fails whole: the state is the restored one.
    let current = s.snapshot().await.unwrap();
    let mut bad = before.clone();
    bad.installs.push(crate::snapshot::InstallSnap { user_id: 999, app_id: 20 });
    assert!(s.execute(&Write::Restore(Box::new(bad)), &audit("restore")).await.is_err());
    assert_eq!(s.snapshot().await.unwrap(), current);
    // Restoring an empty snapshot empties the store.
    let nothing = crate::Snapshot { next_id: before.next_id, ..Default::default() };
    s.execute(&Write::Restore(Box::new(nothing)), &audit("restore")).await.unwrap();
    let empty = s.dump().await.unwrap();
    assert!(empty.businesses.is_empty() && empty.users.is_empty() && empty.tokens.is_empty());
}

/// Writes abandoned after their first poll (a client that went away) still complete, and the store keeps working.
pub async fn cancelled_writes_leave_the_store_usable(s: Dyn) {
    world(&s).await;
    for n in 1..=100u8 {
        s.insert_token(&token(n, Some(10), None), &audit("issue")).await.unwrap();
    }
    for n in 1..=100u8 {
        // Poll once, then drop: what hyper does to a handler whose client disconnected.
        let _ = tokio::time::timeout(
            std::time::Duration::ZERO,
            s.revoke_token(&TokenHash([n; 32]), 2000, &audit("revoke")),
        )
        .await;
        let _ = tokio::time::timeout(
            std::time::Duration::ZERO,
            s.refresh_token(&token(n + 100, Some(10), Some(n)), &audit("refresh")),
        )
        .await;
    }
    // Every abandoned write completed or failed as a whole, and new writes go through.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    s.append_audit(&audit("after")).await.unwrap();
    for n in 1..=100u8 {
        let t = s.get_token(&TokenHash([n; 32])).await.unwrap().unwrap();
        assert_eq!(t.revoked_at, Some(2000), "abandoned revoke {n} did not complete");
    }
    assert!(s.revoke_token(&TokenHash([1; 32]), 3000, &audit("revoke")).await.is_ok());
}

/// Waits (bounded) until `n` audit entries are committed: an abandoned write's caller hears nothing, so the audit
/// log is how a test learns that it committed.
async fn committed(s: &Dyn, n: usize) {
    for _ in 0..5000 {
        if s.audit_tail(100_000).await.unwrap().len() >= n {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    panic!("the abandoned write never committed");
}

/// Every write that makes a cached entry stale, abandoned after its first poll (the client went away), is in force
/// the moment it has committed: the cache never answers with the entry from before it.
pub async fn abandoned_invalidating_writes_are_in_force_once_committed(s: Dyn) {
    world(&s).await;
    s.create_business(&business(2), &audit("b")).await.unwrap();
    let page = Page { id: PageId(30), name: "p".into(), business_id: BusinessId(1), category: None };
    s.create_page(&page, &audit("p")).await.unwrap();
    let role = PageRole { page_id: PageId(30), user_id: UserId(10), tasks: vec![PageTask::Manage] };
    for round in 0..50u8 {
        let t1 = token(2 * round + 1, Some(10), None);
        let t2 = token(2 * round + 2, Some(10), None);
        s.insert_token(&t1, &audit("issue")).await.unwrap();
        s.insert_token(&t2, &audit("issue")).await.unwrap();
        s.install_app(UserId(10), AppId(20), &audit("install")).await.unwrap();
        s.set_page_role(&role, &audit("role")).await.unwrap();
        let writes = [
            Write::RevokeToken { hash: t1.hash, at: 2000 },
            Write::BumpSessionEpoch(UserId(10)),
            Write::ResetSecret { app: AppId(20), sealed_secret: vec![round, 1] },
            Write::SetAppRole { app: AppId(20), user: UserId(10), role: AppRole::Developer },
            Write::UpdateApp {
                app: AppId(20),
                status: Some(if round % 2 == 0 { AppStatus::Disabled } else { AppStatus::Active }),
                app_scoped_last_query_at: None,
                settings: Default::default(),
            },
            Write::Uninstall { su: UserId(10), app: AppId(20) },
            Write::RemovePageRole { page: PageId(30), user: UserId(10) },
            Write::SetClockOffset(i64::from(round) + 1),
            Write::RevokeAllForUser { user: UserId(10), at: 2000 },
        ];
        for w in writes {
            // Warm the cache with what the write is about to change.
            assert!(s.get_token(&t1.hash).await.unwrap().is_some());
            assert!(s.get_token(&t2.hash).await.unwrap().is_some());
            let epoch = s.get_user(UserId(10)).await.unwrap().unwrap().session_epoch;
            let app = s.get_app(AppId(20)).await.unwrap().unwrap();
            let installed = s.is_installed(UserId(10), AppId(20)).await.unwrap();
            let has_role = s.get_page_role(PageId(30), UserId(10)).await.unwrap().is_some();
            let before = s.audit_tail(100_000).await.unwrap().len();
            let _ = tokio::time::timeout(std::time::Duration::ZERO, s.execute(&w, &audit("abandoned"))).await;
            committed(&s, before + 1).await;
            match &w {
                Write::RevokeToken { hash, .. } => {
                    assert!(s.get_token(hash).await.unwrap().unwrap().revoked_at.is_some(), "round {round}: {w:?}")
                }
                Write::BumpSessionEpoch(u) => {
                    assert_eq!(s.get_user(*u).await.unwrap().unwrap().session_epoch, epoch + 1, "round {round}")
                }
                Write::ResetSecret { sealed_secret, .. } => {
                    let now = s.get_app(AppId(20)).await.unwrap().unwrap();
                    assert_eq!(&now.sealed_secret, sealed_secret, "round {round}: {w:?}");
                    assert_ne!(now.sealed_secret, app.sealed_secret);
                }
                Write::SetAppRole { user, role, .. } => {
                    let now = s.get_app(AppId(20)).await.unwrap().unwrap();
                    assert_eq!(now.app.role_of(*user), Some(*role), "round {round}: {w:?}");
                }
                Write::UpdateApp { status: Some(status), .. } => {
                    assert_ne!(app.app.status, *status, "round {round}: the cache held the status from before");
                    let now = s.get_app(AppId(20)).await.unwrap().unwrap();
                    assert_eq!(now.app.status, *status, "round {round}: {w:?}");
                }
                Write::Uninstall { su, app } => {
                    assert!(installed);
                    assert!(!s.is_installed(*su, *app).await.unwrap(), "round {round}: {w:?}")
                }
                Write::RemovePageRole { page, user } => {
                    assert!(has_role);
                    assert!(s.get_page_role(*page, *user).await.unwrap().is_none(), "round {round}: {w:?}")
                }
                Write::SetClockOffset(o) => assert_eq!(s.clock_offset().await.unwrap(), *o, "round {round}"),
                Write::RevokeAllForUser { .. } => {
                    assert!(s.get_token(&t2.hash).await.unwrap().unwrap().revoked_at.is_some(), "round {round}")
                }
                _ => unreachable!(),
            }
        }
        // A reset, abandoned, leaves nothing cached from before it.
        if round == 49 {
            assert!(s.get_business(BusinessId(1)).await.unwrap().is_some());
            let before = s.audit_tail(100_000).await.unwrap().len();
            let _ = tokio::time::timeout(std::time::Duration::ZERO, s.execute(&Write::Reset, &audit("reset"))).await;
            committed(&s, before + 1).await;
            assert!(s.get_business(BusinessId(1)).await.unwrap().is_none());
            assert!(s.get_token(&t1.hash).await.unwrap().is_none());
            assert_eq!(s.clock_offset().await.unwrap(), 0);
        }
    }
}

/// A token of `user` whose hash is made of `round` and `i`, so a case can make as many distinct ones as it needs.
fn tok(round: u8, i: u8, user: u64, parent: Option<TokenHash>) -> TokenRecord {
    let mut hash = [0xEE; 32];
    (hash[0], hash[1]) = (round, i);
    TokenRecord { hash: TokenHash(hash), parent, ..token(0, Some(user), None) }
}

/// An answer as a case compares it: the value, or the error's kind.
fn answer(r: &Result<Written>) -> String {
    match r {
        Ok(w) => format!("{w:?}"),
        Err(StoreError::ParentRevoked) => "ParentRevoked".into(),
        Err(StoreError::CodeUsed) => "CodeUsed".into(),
        Err(StoreError::Conflict(_)) => "Conflict".into(),
        Err(StoreError::NotFound(_)) => "NotFound".into(),
        Err(e) => format!("error: {e}"),
    }
}

/// A model of the tokens table: hash -> (subject, revoked).
type TokenTable = std::collections::BTreeMap<[u8; 32], (Option<UserId>, bool)>;

/// The token writes of [`concurrent_mixed_writes_match_a_serial_order`] run one after another on a model of the
/// tokens table: each answer and the final table.
fn serially(writes: &[Write], order: &[usize], mut table: TokenTable) -> (Vec<String>, TokenTable) {
    let mut answers = vec![String::new(); writes.len()];
    for &i in order {
        answers[i] = match &writes[i] {
            Write::IssueToken(t) if table.contains_key(&t.hash.0) => "Conflict".into(),
            Write::IssueToken(t) => {
                table.insert(t.hash.0, (t.user_id, false));
                format!("{:?}", Written::Done)
            }
            Write::RefreshToken(t) => match t.parent.and_then(|p| table.get(&p.0)) {
                Some((_, false)) => {
                    table.insert(t.hash.0, (t.user_id, false));
                    format!("{:?}", Written::Done)
                }
                _ => "ParentRevoked".into(),
            },
            Write::RevokeToken { hash, .. } => {
                let live = matches!(table.get(&hash.0), Some((_, false)));
                if let Some(row) = table.get_mut(&hash.0) {
                    row.1 = true;
                }
                format!("{:?}", Written::Changed(live))
            }
            Write::RevokeAllForUser { user, .. } => {
                let mut n = 0;
                for row in table.values_mut().filter(|r| r.0 == Some(*user) && !r.1) {
                    row.1 = true;
                    n += 1;
                }
                format!("{:?}", Written::Count(n))
            }
            other => unreachable!("{other:?}"),
        };
    }
    (answers, table)
}

/// Every order of `0..n`.
fn orders(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![vec![]];
    }
    let mut all = Vec::new();
    for shorter in orders(n - 1) {
        for at in 0..=shorter.len() {
            let mut o = shorter.clone();
            o.insert(at, n - 1);
            all.push(o);
        }
    }
    all
}

/// Issue, refresh, revoke and revoke-all of one token family, all at once (so mostly committed in one group): every
/// answer and the final state of the family are those of some serial order of the same writes.
pub async fn concurrent_mixed_writes_match_a_serial_order(s: Dyn) {
    world(&s).await;
    for round in 0..40u8 {
        let user = 1000 + u64::from(round);
        s.create_user(&system_user(user, 1), &audit("u")).await.unwrap();
        let parent = tok(round, 0, user, None);
        s.insert_token(&parent, &audit("issue")).await.unwrap();
        let fresh = tok(round, 2, user, None);
        let writes = vec![
            Write::RefreshToken(tok(round, 1, user, Some(parent.hash))),
            Write::RevokeToken { hash: parent.hash, at: 2000 },
            Write::IssueToken(fresh.clone()),
            Write::RefreshToken(tok(round, 3, user, Some(fresh.hash))),
            // The child of a child: when both land in one run of refreshes, the second sees the first's row.
            Write::RefreshToken(tok(round, 4, user, Some(tok(round, 1, user, None).hash))),
            Write::RevokeAllForUser { user: UserId(user), at: 2000 },
            Write::RevokeToken { hash: fresh.hash, at: 2000 },
            // Revoked twice: in one run of revocations, only the first changes it.
            Write::RevokeToken { hash: parent.hash, at: 2000 },
        ];
        let tasks: Vec<_> = writes
            .iter()
            .map(|w| {
                let (s, w) = (s.clone(), w.clone());
                tokio::spawn(async move { s.execute(&w, &audit("mixed")).await })
            })
            .collect();
        let mut answers = Vec::new();
        for t in tasks {
            answers.push(answer(&t.await.unwrap()));
        }
        let mut table = std::collections::BTreeMap::new();
        for i in 0..5 {
            let h = tok(round, i, user, None).hash;
            if let Some(t) = s.get_token(&h).await.unwrap() {
                table.insert(h.0, (t.user_id, t.revoked_at.is_some()));
            }
        }
        let start = std::collections::BTreeMap::from([(parent.hash.0, (Some(UserId(user)), false))]);
        assert!(
            orders(writes.len())
                .iter()
                .any(|o| serially(&writes, o, start.clone()) == (answers.clone(), table.clone())),
            "round {round}: answers {answers:?} and tokens {table:?} match no serial order"
        );
    }
}

/// Writes that fail, queued among writes that succeed: each fails alone with its own error, writes nothing (not even
/// half of itself: a redemption whose token is refused leaves its code unused), and every other write commits with
/// exactly the answer it would have had alone.
pub async fn a_failing_write_fails_alone_in_its_group(s: Dyn) {
    world(&s).await;
    let code = |n: u8| AuthCode {
        hash: TokenHash([n; 32]),
        app_id: AppId(20),
        user_id: UserId(10),
        redirect_uri: "https://x.example/cb".into(),
        scopes: vec![],
        created_at: 100,
        used_at: None,
        session_epoch: 0,
    };
    for round in 0..10u8 {
        let (live, revoked) = (tok(round, 0, 10, None), tok(round, 1, 10, None));
        s.insert_token(&live, &audit("issue")).await.unwrap();
        s.insert_token(&revoked, &audit("issue")).await.unwrap();
        s.revoke_token(&revoked.hash, 1500, &audit("revoke")).await.unwrap();
        let (used, unused) = (code(2 * round + 1), code(2 * round + 2));
        s.insert_code(&used, &audit("code")).await.unwrap();
        s.insert_code(&unused, &audit("code")).await.unwrap();
        s.redeem_code(&used.hash, 150, &tok(round, 2, 10, None), &audit("exchange")).await.unwrap();
        let before = s.audit_tail(100_000).await.unwrap().len();
        let mut writes = vec![
            (Write::IssueToken(live.clone()), "Conflict"),
            (Write::RefreshToken(tok(round, 3, 10, Some(revoked.hash))), "ParentRevoked"),
            (Write::RedeemCode { hash: used.hash, at: 160, token: tok(round, 4, 10, None) }, "CodeUsed"),
            // The code is marked used before the token is refused: the whole redemption must be undone.
            (Write::RedeemCode { hash: unused.hash, at: 160, token: live.clone() }, "Conflict"),
            (Write::Install { su: UserId(10), app: AppId(999) }, "NotFound"),
            (Write::RevokeToken { hash: revoked.hash, at: 1600 }, "Changed(false)"),
        ];
        for i in 10..40 {
            writes.push((Write::IssueToken(tok(round, i, 10, None)), "Done"));
        }
        writes.push((Write::RefreshToken(tok(round, 5, 10, Some(live.hash))), "Done"));
        let tasks: Vec<_> = writes
            .iter()
            .map(|(w, _)| {
                let (s, w) = (s.clone(), w.clone());
                tokio::spawn(async move { s.execute(&w, &audit("grouped")).await })
            })
            .collect();
        for (t, (w, expected)) in tasks.into_iter().zip(&writes) {
            assert_eq!(answer(&t.await.unwrap()), *expected, "round {round}: {w:?}");
        }
        let ok = writes.iter().filter(|(_, e)| *e == "Done" || e.starts_with("Changed")).count();
        assert_eq!(s.audit_tail(100_000).await.unwrap().len(), before + ok, "round {round}: one entry per success");
        assert_eq!(s.get_code(&unused.hash).await.unwrap().unwrap().used_at, None, "round {round}");
        for i in [3, 4] {
            assert_eq!(s.get_token(&tok(round, i, 10, None).hash).await.unwrap(), None, "round {round}: token {i}");
        }
        assert_eq!(s.get_token(&revoked.hash).await.unwrap().unwrap().revoked_at, Some(1500), "the first time stays");
        assert!(s.get_token(&tok(round, 5, 10, None).hash).await.unwrap().is_some());
        for i in 10..40 {
            assert!(s.get_token(&tok(round, i, 10, None).hash).await.unwrap().is_some(), "round {round}: token {i}");
        }
        // The code a refused redemption touched is still good.
        s.redeem_code(&unused.hash, 170, &tok(round, 6, 10, None), &audit("exchange")).await.unwrap();
    }
}

/// Revocations acknowledged while many others are committed with them: the very next read, through the cache that
/// held the token as valid, sees each one revoked (and every token of a user after "revoke all").
pub async fn an_acknowledged_revocation_is_in_force_for_the_next_read(s: Dyn) {
    world(&s).await;
    s.create_user(&system_user(11, 1), &audit("u")).await.unwrap();
    for round in 0..5u8 {
        let mine: Vec<TokenRecord> = (0..100).map(|i| tok(round, i, 10, None)).collect();
        let theirs: Vec<TokenRecord> = (100..120).map(|i| tok(round, i, 11, None)).collect();
        for t in mine.iter().chain(&theirs) {
            s.insert_token(t, &audit("issue")).await.unwrap();
            assert!(s.get_token(&t.hash).await.unwrap().unwrap().revoked_at.is_none(), "cached as valid");
        }
        let mut tasks = Vec::new();
        for t in mine {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                assert!(s.revoke_token(&t.hash, 2000, &audit("revoke")).await.unwrap());
                assert_eq!(s.get_token(&t.hash).await.unwrap().unwrap().revoked_at, Some(2000));
            }));
        }
        for _ in 0..3 {
            let (s, theirs) = (s.clone(), theirs.clone());
            tasks.push(tokio::spawn(async move {
                s.revoke_all_for_user(UserId(11), 2000, &audit("revoke_all")).await.unwrap();
                for t in &theirs {
                    assert!(s.get_token(&t.hash).await.unwrap().unwrap().revoked_at.is_some());
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    }
}

/// Groups of writes whose answers and effects, committed as one group, must be those of the same writes run one at a
/// time in the same order; each runs after [`group_world`]. Between them they cover the runs served by one statement
/// (issuances, revocations at one time, refreshes, a child refreshed in the same run), failures inside such runs and
/// between them (the savepoint path), and every kind of token write.
pub fn groups() -> Vec<Vec<Write>> {
    let (issue, refresh) =
        (|n| Write::IssueToken(token(n, Some(10), None)), |n, p| Write::RefreshToken(token(n, Some(10), Some(p))));
    let revoke = |n, at| Write::RevokeToken { hash: TokenHash([n; 32]), at };
    let code = |n: u8| AuthCode {
        hash: TokenHash([n; 32]),
        app_id: AppId(20),
        user_id: UserId(10),
        redirect_uri: "https://x.example/cb".into(),
        scopes: vec![],
        created_at: 100,
        used_at: None,
        session_epoch: 0,
    };
    let redeem = |c, n| Write::RedeemCode { hash: TokenHash([c; 32]), at: 150, token: token(n, Some(10), None) };
    vec![
        vec![
            issue(10),
            issue(11),
            issue(12),
            revoke(10, 2000),
            revoke(10, 2000),
            revoke(11, 2000),
            refresh(13, 1),
            refresh(14, 13),
        ],
        vec![
            issue(10),
            issue(11),
            revoke(1, 2000),
            revoke(1, 2000),
            refresh(12, 1),
            refresh(13, 2),
            refresh(14, 13),
            revoke(2, 2000),
            refresh(15, 2),
            Write::Install { su: UserId(10), app: AppId(20) },
            issue(11),
            revoke(99, 2000),
            Write::RevokeAllForUser { user: UserId(10), at: 2001 },
            refresh(16, 3),
            Write::Install { su: UserId(10), app: AppId(999) },
            Write::Uninstall { su: UserId(10), app: AppId(20) },
        ],
        vec![refresh(40, 1), refresh(40, 2), refresh(41, 40), revoke(1, 2000), revoke(1, 2001), revoke(2, 2001)],
        // Issuances alone (one multi-row insert), then with one that fails (the group runs again carefully).
        vec![issue(20), issue(21), issue(22)],
        vec![issue(20), issue(21), issue(20), issue(23)],
        vec![
            Write::InsertCode(code(50)),
            redeem(50, 51),
            redeem(50, 52),
            redeem(53, 54),
            Write::InsertCode(code(55)),
            redeem(55, 51),
            redeem(55, 56),
            issue(56),
        ],
    ]
}

/// The store every [`groups`] case starts from: [`world`] and live tokens 1, 2 and 3 of system user 10.
pub async fn group_world(s: &Dyn) {
    world(s).await;
    for n in 1..=3 {
        s.insert_token(&token(n, Some(10), None), &audit("issue")).await.unwrap();
    }
}

/// What a [`groups`] case compares: the answers, every token and the whole audit log.
pub async fn group_outcome(s: &Dyn, answers: &[Result<Written>]) -> (Vec<String>, Dump, Vec<AuditEntry>) {
    (answers.iter().map(answer).collect(), s.dump().await.unwrap(), s.audit_tail(100_000).await.unwrap())
}

/// Expands to one `#[tokio::test]` per contract case, each run over the [`crate::CachedStore`] the server really uses.
/// `$make` is an async expression giving `Some(fresh empty store)`.
#[macro_export]
macro_rules! store_contract_tests {
    ($make:expr) => {
        $crate::store_contract_tests!(@cases $make;
            objects_round_trip, duplicate_ids_conflict, ids_are_unique_and_increasing,
            system_users_listed_in_creation_order, installs_are_idempotent, tokens_round_trip_and_revoke,
            concurrent_token_reads_each_get_their_own_row,
            revoke_all_touches_only_that_users_live_tokens, refresh_needs_a_live_parent,
            refresh_racing_revoke_never_leaves_a_usable_child_after_revoke, every_write_is_audited_in_order,
            every_mutating_call_appends_exactly_one_entry,
            clock_offset_persists, session_epoch_bumps, reset_keeps_the_audit_log, dump_is_complete_and_ordered,
            refreshes_of_a_revoked_parent_all_fail, revoke_all_racing_refreshes_leaves_no_live_token,
            apps_update_and_uninstall, concurrent_app_updates_all_land, app_scoped_ids_are_stable_and_resolvable, pages_and_roles, codes_redeem_once, password_hashes,
            app_status_and_last_query_update, app_scoped_issuance_stamps_its_app, child_businesses_round_trip_and_list,
            consent_answers_and_deauthorization,
            concurrent_issuance_is_individually_acknowledged, cancelled_writes_leave_the_store_usable,
            abandoned_invalidating_writes_are_in_force_once_committed,
            snapshot_round_trips_through_json_and_restore, concurrent_mixed_writes_match_a_serial_order,
            a_failing_write_fails_alone_in_its_group, an_acknowledged_revocation_is_in_force_for_the_next_read,
            ids_are_allocated_while_writes_keep_coming);
    };
    (@cases $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                // `None` means the backend is deliberately skipped (e.g. SUAT_SKIP_PG=1).
                let store: Option<$crate::contract::Dyn> = $make.await;
                let Some(store) = store else { return };
                let cached = $crate::CachedStore::new(store, 1000).await.expect("cache");
                $crate::contract::$case(cached).await;
            }
        )*
    };
}
