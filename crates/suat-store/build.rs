//! `sqlx::migrate!` embeds the migration files at compile time, but cargo only rebuilds a crate when a file it
//! tracks changes: without this, a new or edited migration is silently left out of an incremental build.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
