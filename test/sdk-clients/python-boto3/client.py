"""Calls sts:GetCallerIdentity through boto3's default credential chain and prints the ARN.

All configuration comes from the environment (AWS_CONTAINER_CREDENTIALS_FULL_URI,
AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, AWS_DEFAULT_REGION, AWS_ENDPOINT_URL_STS). Test knobs:
IAM_SIDECAR_CLIENT_LOOP (calls, default 1) and IAM_SIDECAR_CLIENT_INTERVAL_MS (pause between
calls) keep one client alive across calls, so a credential refresh happens inside it.
"""

import os
import sys
import time

import boto3


def env_number(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value else default


def main() -> int:
    calls = env_number("IAM_SIDECAR_CLIENT_LOOP", 1)
    interval = env_number("IAM_SIDECAR_CLIENT_INTERVAL_MS", 0) / 1000
    try:
        # boto3 resolves credentials here, when the client is created, and refreshes them later.
        client = boto3.client("sts")
        for i in range(calls):
            if i > 0:
                time.sleep(interval)
            print(client.get_caller_identity()["Arn"], flush=True)
    except Exception as err:  # noqa: BLE001 - any failure is reported the same way
        print(f"GetCallerIdentity failed: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
