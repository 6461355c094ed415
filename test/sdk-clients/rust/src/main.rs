//! Calls sts:GetCallerIdentity through the AWS SDK for Rust's default credential chain and
//! prints the caller's ARN, one line per call. All configuration comes from the environment
//! (AWS_CONTAINER_CREDENTIALS_FULL_URI, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, AWS_REGION,
//! AWS_ENDPOINT_URL_STS). Test knobs: IAM_SIDECAR_CLIENT_LOOP (calls, default 1) and
//! IAM_SIDECAR_CLIENT_INTERVAL_MS (pause between calls) keep one client alive across calls.
use aws_config::BehaviorVersion;
use aws_sdk_sts::error::DisplayErrorContext;
use std::time::Duration;

fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => v.parse().unwrap_or_else(|_| {
            eprintln!("{name} must be a non-negative integer, got {v:?}");
            std::process::exit(2)
        }),
        _ => default,
    }
}

#[tokio::main]
async fn main() {
    let calls = env_number("IAM_SIDECAR_CLIENT_LOOP", 1);
    let interval = Duration::from_millis(env_number("IAM_SIDECAR_CLIENT_INTERVAL_MS", 0));
    let config = aws_config::load_defaults(BehaviorVersion::latest()).await;
    let client = aws_sdk_sts::Client::new(&config);
    for i in 0..calls {
        if i > 0 {
            tokio::time::sleep(interval).await;
        }
        match client.get_caller_identity().send().await {
            Ok(out) => println!("{}", out.arn().unwrap_or_default()),
            Err(err) => {
                eprintln!("GetCallerIdentity failed: {}", DisplayErrorContext(&err));
                std::process::exit(1);
            }
        }
    }
}
