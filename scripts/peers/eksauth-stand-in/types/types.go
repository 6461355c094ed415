// Package types is part of a STAND-IN for the EKS Auth SDK module (see ../go.mod): the shapes and
// errors the EKS Pod Identity Agent reads, named as the real module names them.
package types

import (
	"time"

	"github.com/aws/smithy-go"
)

type AssumedRoleUser struct {
	Arn          *string `json:"arn"`
	AssumeRoleId *string `json:"assumeRoleId"`
}

type Credentials struct {
	AccessKeyId     *string    `json:"accessKeyId"`
	SecretAccessKey *string    `json:"secretAccessKey"`
	SessionToken    *string    `json:"sessionToken"`
	Expiration      *time.Time `json:"-"`
}

type PodIdentityAssociation struct {
	AssociationArn *string `json:"associationArn"`
	AssociationId  *string `json:"associationId"`
}

type Subject struct {
	Namespace      *string `json:"namespace"`
	ServiceAccount *string `json:"serviceAccount"`
}

// apiError carries the code and message of an error answer; the named types below are the ones
// the agent tells apart (internal/cloud/eksauth/errors.go treats them as not worth a retry).
type apiError struct{ Code, Message string }

func (e *apiError) Error() string                 { return "api error " + e.Code + ": " + e.Message }
func (e *apiError) ErrorCode() string             { return e.Code }
func (e *apiError) ErrorMessage() string          { return e.Message }
func (e *apiError) ErrorFault() smithy.ErrorFault { return smithy.FaultClient }

type ResourceNotFoundException struct{ apiError }
type ExpiredTokenException struct{ apiError }
type InvalidTokenException struct{ apiError }
type AccessDeniedException struct{ apiError }

// NewAPIError returns the named error type for code, or a generic API error for any other code
// (ThrottlingException, InternalServerException, ...), which the agent retries.
func NewAPIError(code, message string) error {
	e := apiError{Code: code, Message: message}
	switch code {
	case "ResourceNotFoundException":
		return &ResourceNotFoundException{e}
	case "ExpiredTokenException":
		return &ExpiredTokenException{e}
	case "InvalidTokenException":
		return &InvalidTokenException{e}
	case "AccessDeniedException":
		return &AccessDeniedException{e}
	}
	return &smithy.GenericAPIError{Code: code, Message: message, Fault: smithy.FaultServer}
}
