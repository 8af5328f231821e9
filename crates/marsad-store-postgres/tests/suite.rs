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
