package postgres

import "github.com/signoff/signoff/internal/signoff"

// filterConditions turns a deployment filter's service, environment,
// creation dates and signer into SQL conditions on deployments d, each
// value a parameter that arg adds and names ($n). Status, limit and
// offset are the caller's, whose lists differ in them.
func filterConditions(f signoff.DeploymentFilter, arg func(any) string) []string {
	var where []string
	if f.Service != "" {
		where = append(where, "d.service ILIKE "+arg("%"+likeEscape(f.Service)+"%"))
	}
	if f.Environment != "" {
		where = append(where, "d.environment = "+arg(f.Environment))
	}
	if f.From != nil {
		where = append(where, "d.created_at >= "+arg(*f.From))
	}
	if f.To != nil {
		where = append(where, "d.created_at < "+arg(*f.To))
	}
	if f.Signer != "" {
		where = append(where, `EXISTS (SELECT 1 FROM signoffs s WHERE s.deployment_id = d.id
			AND s.ended_at IS NULL AND s.signer_name ILIKE `+arg("%"+likeEscape(f.Signer)+"%")+`)`)
	}
	return where
}
