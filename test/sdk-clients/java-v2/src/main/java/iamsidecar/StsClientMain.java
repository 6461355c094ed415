package iamsidecar;

import software.amazon.awssdk.services.sts.StsClient;
import software.amazon.awssdk.services.sts.model.GetCallerIdentityResponse;

/**
 * Calls sts:GetCallerIdentity through the AWS SDK for Java v2 default credential provider chain
 * and prints the caller's ARN, one line per call. All configuration comes from the environment
 * (AWS_CONTAINER_CREDENTIALS_FULL_URI, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, AWS_REGION,
 * AWS_ENDPOINT_URL_STS). Test knobs: IAM_SIDECAR_CLIENT_LOOP (calls, default 1) and
 * IAM_SIDECAR_CLIENT_INTERVAL_MS (pause between calls) keep one client alive across calls.
 */
public final class StsClientMain {
  private StsClientMain() {}

  private static long envNumber(String name, long fallback) {
    String value = System.getenv(name);
    return value == null || value.isEmpty() ? fallback : Long.parseLong(value);
  }

  public static void main(String[] args) throws InterruptedException {
    long calls = envNumber("IAM_SIDECAR_CLIENT_LOOP", 1);
    long intervalMs = envNumber("IAM_SIDECAR_CLIENT_INTERVAL_MS", 0);
    // StsClient.create(): default region chain, default credentials chain, endpoint from env.
    try (StsClient sts = StsClient.create()) {
      for (long i = 0; i < calls; i++) {
        if (i > 0) {
          Thread.sleep(intervalMs);
        }
        GetCallerIdentityResponse out = sts.getCallerIdentity();
        System.out.println(out.arn());
        System.out.flush();
      }
    } catch (RuntimeException e) {
      System.err.println("GetCallerIdentity failed: " + e);
      System.exit(1);
    }
  }
}
