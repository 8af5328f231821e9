//! The shared store suite against PostgreSQL (the machine's server,
//! `MARSAD_TEST_POSTGRES` or `postgres://127.0.0.1:5432/test`), every case
//! in a schema of its own, dropped after; the same cases as SQLite's.

mod suite {
    marsad_store::store_suite!(|| {
        let scratch = marsad_store_postgres::ScratchStore::new()
            .expect("the test database: PostgreSQL on 127.0.0.1:5432 (scripts/test starts it)");
        let store = scratch.open().expect("open");
        (scratch, store)
    });
}

/// One grouping leader at a time across processes (connections): a second
/// waits while the first leads, and leads once it has ended; a leader whose
/// connection closes (a process killed) releases the lead.
#[test]
fn one_grouping_leader_at_a_time() {
    use marsad_store::GroupingStore;
    use std::time::{Duration, Instant};

    let scratch = marsad_store_postgres::ScratchStore::new().expect("PostgreSQL on 127.0.0.1:5432");
    let first = scratch.open().expect("open");
    first.lead_grouping().expect("lead");
    let url = scratch.url().to_owned();
    let second = std::thread::spawn(move || {
        let second = marsad_store_postgres::PgStore::open(&url).expect("open");
        second.lead_grouping().expect("lead after the first");
        let led_at = Instant::now();
        second.end_grouping().expect("end");
        led_at
    });
    std::thread::sleep(Duration::from_millis(600));
    // By order, not by durations (a loaded machine stretches those): the
    // second leads only after the first has begun to end.
    let ending_at = Instant::now();
    first.end_grouping().expect("end");
    let led_at = second.join().expect("second");
    assert!(led_at >= ending_at, "the second led while the first did");

    // A leader that goes away without ending releases the lead.
    let gone = scratch.open().expect("open");
    gone.lead_grouping().expect("lead");
    drop(gone);
    let next = scratch.open().expect("open");
    let started = Instant::now();
    next.lead_grouping().expect("lead after a leader that went away");
    assert!(started.elapsed() < Duration::from_secs(5));
    next.end_grouping().expect("end");
}
