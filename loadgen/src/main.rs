//! `loadgen`: simulates massive MLS groups under churn (issue #7 builds it).

fn main() -> std::process::ExitCode {
    eprintln!("loadgen: no scenarios yet; the simulation lands with the member-group and server layers");
    std::process::ExitCode::from(2)
}
