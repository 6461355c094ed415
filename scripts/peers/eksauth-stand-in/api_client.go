// Package eksauth is a STAND-IN for the EKS Auth SDK module (see go.mod). It sends
// AssumeRoleForPodIdentity as the real client does (REST-JSON, POST
// /clusters/{name}/assume-role-for-pod-identity, SigV4 for the service "eks-auth") to the endpoint
// the agent's --endpoint flag names, and reads the answer. No retries, no endpoint rules: only the
// agent's cold path (a credential not yet in its cache) comes here.
package eksauth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/eksauth/types"
)

// ServiceID is the value the real module has; the agent's endpoint override matches on it.
const ServiceID = "EKS Auth"

const signingName = "eks-auth"

type Options struct{}

type Client struct{ cfg aws.Config }

func NewFromConfig(cfg aws.Config, _ ...func(*Options)) *Client { return &Client{cfg: cfg} }

type AssumeRoleForPodIdentityInput struct {
	ClusterName *string
	Token       *string
}

type AssumeRoleForPodIdentityOutput struct {
	AssumedRoleUser        *types.AssumedRoleUser        `json:"assumedRoleUser"`
	Audience               *string                       `json:"audience"`
	Credentials            *types.Credentials            `json:"credentials"`
	PodIdentityAssociation *types.PodIdentityAssociation `json:"podIdentityAssociation"`
	Subject                *types.Subject                `json:"subject"`
}

func (c *Client) AssumeRoleForPodIdentity(ctx context.Context, in *AssumeRoleForPodIdentityInput,
	_ ...func(*Options)) (*AssumeRoleForPodIdentityOutput, error) {
	if in == nil || in.ClusterName == nil || in.Token == nil {
		return nil, errors.New("eksauth stand-in: ClusterName and Token are required")
	}
	if c.cfg.EndpointResolverWithOptions == nil {
		return nil, errors.New("eksauth stand-in: no endpoint; start the agent with --endpoint")
	}
	ep, err := c.cfg.EndpointResolverWithOptions.ResolveEndpoint(ServiceID, c.cfg.Region)
	if err != nil {
		return nil, err
	}
	body, _ := json.Marshal(map[string]string{"token": *in.Token})
	u := strings.TrimSuffix(ep.URL, "/") + "/clusters/" + url.PathEscape(*in.ClusterName) +
		"/assume-role-for-pod-identity"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if err := c.sign(ctx, req, body); err != nil {
		return nil, err
	}
	httpClient := c.cfg.HTTPClient
	if httpClient == nil {
		httpClient = http.DefaultClient
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, decodeError(resp, raw)
	}
	return decodeOutput(raw)
}

func (c *Client) sign(ctx context.Context, req *http.Request, body []byte) error {
	if c.cfg.Credentials == nil {
		return errors.New("eksauth stand-in: no AWS credentials to sign with")
	}
	creds, err := c.cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	return v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), signingName,
		c.cfg.Region, time.Now())
}

// decodeOutput reads the REST-JSON answer; expiration is epoch seconds, as the service sends it.
func decodeOutput(raw []byte) (*AssumeRoleForPodIdentityOutput, error) {
	var out AssumeRoleForPodIdentityOutput
	var times struct {
		Credentials *struct {
			Expiration *float64 `json:"expiration"`
		} `json:"credentials"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("eksauth stand-in: bad answer: %w", err)
	}
	if err := json.Unmarshal(raw, &times); err != nil {
		return nil, fmt.Errorf("eksauth stand-in: bad answer: %w", err)
	}
	if out.Credentials != nil && times.Credentials != nil && times.Credentials.Expiration != nil {
		secs := *times.Credentials.Expiration
		t := time.Unix(int64(secs), int64((secs-float64(int64(secs)))*1e9)).UTC()
		out.Credentials.Expiration = &t
	}
	return &out, nil
}

// decodeError names the error as the REST-JSON protocol does: the X-Amzn-ErrorType header, else
// the body's __type or code, with anything after ':' or '#' dropped.
func decodeError(resp *http.Response, raw []byte) error {
	var b struct {
		Type    string `json:"__type"`
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(raw, &b)
	code := resp.Header.Get("X-Amzn-ErrorType")
	if code == "" {
		code = b.Type
	}
	if code == "" {
		code = b.Code
	}
	if i := strings.IndexByte(code, ':'); i >= 0 {
		code = code[:i]
	}
	if i := strings.LastIndexByte(code, '#'); i >= 0 {
		code = code[i+1:]
	}
	if code == "" {
		code = fmt.Sprintf("HTTP%d", resp.StatusCode)
	}
	return types.NewAPIError(code, b.Message)
}
