package app

import (
	"fmt"

	"github.com/datacommons/indexd/policy"
)

// NewPolicy builds the configured policy backend (uncached): the Arborist
// client for INDEXD_ARBORIST_URL, or the policy file INDEXD_POLICY_FILE.
// Both answer mappings by user name (policy.UserMapper).
func NewPolicy(cfg Config) (policy.Service, error) {
	switch {
	case cfg.ArboristURL != "" && cfg.PolicyFile != "", cfg.ArboristURL == "" && cfg.PolicyFile == "":
		return nil, fmt.Errorf("configuration: set exactly one of INDEXD_ARBORIST_URL and INDEXD_POLICY_FILE")
	case cfg.ArboristURL != "":
		return policy.NewArborist(cfg.ArboristURL, cfg.PolicyTimeout, nil), nil
	}
	static, err := policy.LoadStatic(cfg.PolicyFile)
	if err != nil {
		return nil, err
	}
	return static, nil
}
