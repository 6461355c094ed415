// Command sts-client calls sts:GetCallerIdentity through the AWS SDK for Go v2 default
// credential chain (config.LoadDefaultConfig) and prints the caller's ARN, one line per call.
// All configuration comes from the environment (AWS_CONTAINER_CREDENTIALS_FULL_URI,
// AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, AWS_REGION, AWS_ENDPOINT_URL_STS). Test knobs:
// IAM_SIDECAR_CLIENT_LOOP (calls, default 1) and IAM_SIDECAR_CLIENT_INTERVAL_MS (pause
// between calls) keep one client alive across calls.
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func envNumber(name string, fallback int64) int64 {
	v := os.Getenv(name)
	if v == "" {
		return fallback
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		fmt.Fprintf(os.Stderr, "%s must be a non-negative integer, got %q\n", name, v)
		os.Exit(2)
	}
	return n
}

func main() {
	calls := envNumber("IAM_SIDECAR_CLIENT_LOOP", 1)
	interval := time.Duration(envNumber("IAM_SIDECAR_CLIENT_INTERVAL_MS", 0)) * time.Millisecond
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loading AWS config failed:", err)
		os.Exit(1)
	}
	client := sts.NewFromConfig(cfg)
	for i := int64(0); i < calls; i++ {
		if i > 0 {
			time.Sleep(interval)
		}
		out, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			fmt.Fprintln(os.Stderr, "GetCallerIdentity failed:", err)
			os.Exit(1)
		}
		fmt.Println(aws.ToString(out.Arn))
	}
}
