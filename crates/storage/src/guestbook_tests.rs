//! The same cases on both backends: a SQLite file, and a throwaway PostgreSQL server (one per
//! run, a fresh database per case). PostgreSQL must be installed (`scripts/test` installs it).

use std::future::Future;
use std::time::{Duration, Instant};

use futures_util::StreamExt;

use super::*;
use crate::testing::TempPostgres;
use crate::{DbTarget, ErrorKind};

/// Where each case gets a fresh, empty database of one backend.
enum Backend {
    Sqlite(tempfile::TempDir),
    Postgres(TempPostgres),
}

impl Backend {
    fn fresh(&self, case: &str) -> DbTarget {
        match self {
            Backend::Sqlite(dir) => DbTarget::Sqlite(dir.path().join(format!("{case}.db"))),
            Backend::Postgres(pg) => {
                DbTarget::Postgres(pg.create_database(case).expect("createdb"))
            }
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Runs every backend-independent case against `backend`.
fn cases(backend: &Backend) {
    let rt = runtime();
    let run = |name: &str, case: fn(DbTarget) -> std::pin::Pin<Box<dyn Future<Output = ()>>>| {
        eprintln!("case {name}");
        rt.block_on(case(backend.fresh(name)));
    };
    run("insert_page_get", |t| Box::pin(insert_page_get(t)));
    run("delete_own_only", |t| Box::pin(delete_own_only(t)));
    run("text_as_given", |t| Box::pin(text_as_given(t)));
    run("events_reach_every_store", |t| {
        Box::pin(events_reach_every_store(t))
    });
    // Opening from several threads at once: each migrates or finds the work done.
    let target = backend.fresh("concurrent_open");
    let opened: Vec<_> = (0..4)
        .map(|_| {
            let target = target.clone();
            std::thread::spawn(move || Store::open(target).map(drop))
        })
        .collect();
    for t in opened {
        t.join().expect("thread").expect("concurrent open");
    }
    assert_eq!(
        Store::migrate(&target).expect("migrate"),
        Vec::<u32>::new(),
        "already at the latest version"
    );
    let fresh = backend.fresh("migrate_fresh");
    let latest = vec![1, 2, 3, 4];
    assert_eq!(Store::migrate(&fresh).expect("migrate"), latest);
}

fn msg(store: &Store, name: &str) -> impl Future<Output = Message> {
    let (store, name) = (store.clone(), name.to_string());
    async move {
        store
            .insert(&name, "hello", 1_700_000_000, None)
            .await
            .expect("insert")
    }
}

async fn insert_page_get(target: DbTarget) {
    let store = Store::open(target).expect("open");
    assert_eq!(store.page(0, 10).await.expect("empty page"), (vec![], 0));
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(msg(&store, &format!("n{i}")).await.id);
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids grow: {ids:?}");
    let (page, total) = store.page(0, 2).await.expect("page");
    assert_eq!(total, 5);
    let names: Vec<_> = page.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["n4", "n3"]);
    assert!(store.page(u64::MAX, 2).await.expect("far").0.is_empty());
    assert_eq!(store.page(4, 2).await.expect("last").0.len(), 1);
    let one = store.get(ids[0]).await.expect("get").expect("there");
    assert_eq!((one.name.as_str(), one.created_at), ("n0", 1_700_000_000));
    assert_eq!(store.get(ids[4] + 100).await.expect("get"), None);
    store.ping().await.expect("ping");
    assert_eq!(store.ready_now(), Ok(()));
}

async fn delete_own_only(target: DbTarget) {
    let store = Store::open(target).expect("open");
    let mine = store
        .insert("a", "mine", 1, Some("session-a"))
        .await
        .expect("insert");
    let nobodys = msg(&store, "b").await;
    let stored = store.get(mine.id).await.expect("get").expect("there");
    assert_eq!(stored.owner.as_deref(), Some("session-a"));
    let json = serde_json::to_string(&stored).expect("json");
    assert!(
        !json.contains("session-a"),
        "the owner is never shown: {json}"
    );
    assert!(!store.delete(mine.id, "session-b").await.expect("delete"));
    assert!(!store.delete(nobodys.id, "").await.expect("delete"));
    assert!(store.delete(mine.id, "session-a").await.expect("delete"));
    assert!(!store.delete(mine.id, "session-a").await.expect("again"));
    assert_eq!(store.get(mine.id).await.expect("get"), None);
    assert_eq!(store.page(0, 10).await.expect("page").1, 1);
}

async fn text_as_given(target: DbTarget) {
    let store = Store::open(target).expect("open");
    let evil = "'); DROP TABLE messages; -- <script> \u{1F600} \\ $1";
    let m = store
        .insert(evil, evil, 0, Some(evil))
        .await
        .expect("insert");
    let back = store.get(m.id).await.expect("get").expect("there");
    assert_eq!((back.name.as_str(), back.message.as_str()), (evil, evil));
}

/// A post through one store reaches subscribers of another opened on the same database (on
/// PostgreSQL another instance; on SQLite the same process only, so the same store).
async fn events_reach_every_store(target: DbTarget) {
    let a = Store::open(target.clone()).expect("open a");
    let b = match &target {
        DbTarget::Postgres(_) => Store::open(target).expect("open b"),
        DbTarget::Sqlite(_) => a.clone(),
    };
    let mut events = b.subscribe();
    // The listener of b may still be connecting: post until the first arrives.
    let deadline = Instant::now() + Duration::from_secs(5);
    let first = loop {
        let posted = a.insert("x", "live", 2, Some("o")).await.expect("insert");
        match tokio::time::timeout(Duration::from_millis(300), events.next()).await {
            Ok(Some(Event::Posted(m))) => break (posted, m),
            Ok(other) => panic!("unexpected {other:?}"),
            Err(_) => assert!(Instant::now() < deadline, "no event in 5 s"),
        }
    };
    assert_eq!(first.1.message, "live");
    let m = a.insert("y", "second", 3, Some("o")).await.expect("insert");
    let mut seen = Vec::new();
    while seen.last() != Some(&Event::Posted(m.clone())) {
        let next = tokio::time::timeout(Duration::from_secs(3), events.next())
            .await
            .expect("event within 3 s")
            .expect("stream open");
        seen.push(next);
    }
    assert!(a.delete(m.id, "o").await.expect("delete"));
    let deleted = tokio::time::timeout(Duration::from_secs(3), events.next())
        .await
        .expect("deletion within 3 s");
    assert_eq!(deleted, Some(Event::Deleted(m.id)));
}

#[test]
fn sqlite_backend() {
    cases(&Backend::Sqlite(tempfile::tempdir().expect("tempdir")));
}

#[test]
fn postgres_backend() {
    let pg = TempPostgres::start().expect("a throwaway PostgreSQL (scripts/test installs it)");
    let backend = Backend::Postgres(pg);
    cases(&backend);
    let Backend::Postgres(pg) = backend else {
        return;
    };
    server_goes_away_and_returns(&pg);
}

/// The server stops: calls fail as unavailable within the call timeout, never hang; it
/// returns: calls succeed within 2 s, and events flow again (with what was posted meanwhile
/// by nobody, as nobody could post).
fn server_goes_away_and_returns(pg: &TempPostgres) {
    let rt = runtime();
    let target = DbTarget::Postgres(pg.create_database("goes_away").expect("createdb"));
    let store = Store::open(target).expect("open");
    let mut events = store.subscribe();
    rt.block_on(msg(&store, "before"));
    pg.stop().expect("stop");
    for _ in 0..3 {
        let asked = Instant::now();
        let e = rt.block_on(store.page(0, 10)).expect_err("no server");
        assert_eq!(e.kind(), ErrorKind::Unavailable, "{}", crate::chain(&e));
        assert!(asked.elapsed() < CALL_TIMEOUT + Duration::from_millis(500));
    }
    let down = Instant::now();
    while store.ready_now().is_ok() {
        assert!(down.elapsed() < Duration::from_secs(5), "still ready");
        std::thread::sleep(Duration::from_millis(20));
    }
    let e = rt
        .block_on(store.insert("lost", "x", 0, None))
        .expect_err("no server");
    assert!(e.is_unavailable());
    pg.start_again().expect("start again");
    let back = Instant::now();
    while rt.block_on(store.ping()).is_err() {
        assert!(back.elapsed() < Duration::from_secs(2), "not back in 2 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    let (page, total) = rt.block_on(store.page(0, 10)).expect("page");
    assert_eq!((page[0].name.as_str(), total), ("before", 1));
    while store.ready_now().is_err() {
        assert!(
            back.elapsed() < Duration::from_secs(2),
            "not ready again in 2 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // The listener reconnects on its own and reports the next post.
    rt.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let m = msg(&store, "after").await;
            let got = tokio::time::timeout(Duration::from_millis(300), async {
                loop {
                    match events.next().await {
                        Some(Event::Posted(p)) if p.id == m.id => return,
                        Some(_) => {}
                        None => panic!("stream ended"),
                    }
                }
            })
            .await;
            if got.is_ok() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "no event after the restart: {}",
                pg.log()
            );
        }
    });
}
