//! weir's call spans exported through OpenTelemetry (here to stdout; an OTLP exporter goes in
//! the same place): each call is a client span named `SELECT {database}` with the database
//! attributes of OpenTelemetry's semantic conventions, the failing one with its error code.
//!
//! ```sh
//! cargo run --example otel
//! ```

use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt as _;
use weir::{Backend, Database, Executor};

async fn example() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1/test".to_string());
    // A simple (unbatched) processor prints each span as it ends.
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(opentelemetry_stdout::SpanExporter::default())
        .build();
    let tracer = provider.tracer("weir-otel-example");
    let subscriber =
        tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(tracer));
    tracing::subscriber::set_global_default(subscriber)?;

    let db = Database::connect(&url).await?;
    // The value is bound, so the span's `db.query.text` shows `$1`, never "Ada".
    let sql = match db.backend() {
        Backend::Postgres => "SELECT CONCAT('hello, ', $1::text)",
        Backend::MySql => "SELECT CONCAT('hello, ', $1)",
    };
    let greeting: String = db.fetch_scalar(sql, ("Ada",)).await?;
    println!("{greeting}");
    let e = db
        .execute("SELECT * FROM weir_otel_no_such_table", ())
        .await
        .expect_err("the table does not exist");
    println!("failed as expected, code {:?}", e.code());
    db.close(Duration::from_secs(5)).await;
    provider.shutdown()?;
    Ok(())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match example().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
