// A STAND-IN for github.com/aws/aws-sdk-go-v2/service/eksauth, which the Go module proxy here does
// not serve. It exists only so that scripts/peers/eks-pod-identity-agent.sh can build the EKS Pod
// Identity Agent as a benchmark peer (a `replace` points the agent at this folder). It implements
// just the calls the agent makes, against the stand-in EKS Auth endpoint in bench/. Never shipped.
module github.com/aws/aws-sdk-go-v2/service/eksauth

go 1.24

require (
	github.com/aws/aws-sdk-go-v2 v1.39.2
	github.com/aws/smithy-go v1.23.0
)
