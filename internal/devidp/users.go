package devidp

import (
	"crypto/x509"
	"fmt"
)

// User is an account that can sign in.
type User struct {
	// Username and Password are what the login form accepts. Username is matched
	// case-insensitively.
	Username, Password string
	// Name is the display name; Email is optional.
	Name, Email string
	// UPN is the user principal name. Leave it empty for a guest: Entra's tokens then carry
	// no upn, and unique_name is "live.com#<Email>".
	UPN string
	// OID is the object id (a GUID): with the tenant id, the stable key of the user.
	OID string
	// Groups are group object ids. More than 200 trigger the groups overage claim.
	Groups []string
}

// Client is an app registration: a confidential web app with a client secret, certificates
// or federated credentials (at least one of them).
type Client struct {
	// ID is the application (client) id; Secret its client secret, if it has one.
	ID, Secret string
	// Certificates are the certificates uploaded to the app registration: a client assertion
	// signed by one of their keys, named by x5t or x5t#S256, authenticates the client.
	Certificates []*x509.Certificate
	// FederatedCredentials are trusted external issuers (workload identity).
	FederatedCredentials []FederatedCredential
	// RedirectURIs must match the authorization request's redirect_uri exactly.
	RedirectURIs []string
	// PostLogoutRedirectURIs are where the logout endpoint may send the browser back to.
	PostLogoutRedirectURIs []string
	// ConsentedResources are the resources (GUIDs, api://… URIs, or
	// https://graph.microsoft.com) this client may get tokens for. Empty means the AKS server
	// app and Microsoft Graph.
	ConsentedResources []string
}

// Sample group object ids. Display names come from GroupName.
const (
	GroupPlatformAdmins = "0a1d0000-0000-4000-8000-00000000ad01" // "platform-admins": alice
	GroupDevelopers     = "0de50000-0000-4000-8000-00000000de01" // "developers": bob, many, overage
	GroupViewers        = "0e1e0000-0000-4000-8000-00000000e101" // "viewers": the guest
)

// manyGroupsCount is how many groups the sample user "many" is in: exactly the most a JWT
// carries before Entra switches to the overage claim.
const manyGroupsCount = 200

// overageGroupsCount is how many groups the sample user "overage" is in: more than a JWT
// carries, so Entra sends the overage claim and the groups must come from Graph.
const overageGroupsCount = 250

// projectGroupsCount is how many "project-NNN" groups exist: the overage user's groups
// beyond the 200 of "many".
const projectGroupsCount = overageGroupsCount - manyGroupsCount

// SampleUsers returns the demo accounts, all with the password "password" and stable OIDs:
//
//   - alice (Alice Admin, alice@contoso.example): platform-admins
//   - bob (Bob Builder, bob@contoso.example): developers
//   - guest (Gail Guest, gail@fabrikam.example, no UPN): viewers
//   - many (Manny Groups, many@contoso.example): developers plus 199 "team-NNN" groups,
//     200 in all, the most that still fit in the token without overage
//   - overage (Olive Overage, overage@contoso.example): the groups of "many" plus 50
//     "project-NNN" groups, 250 in all, so her AKS token carries the groups overage claim
//     and her groups are read through the Graph stand-in (GraphURL)
func SampleUsers() []User {
	return []User{
		{
			Username: "alice", Password: "password", Name: "Alice Admin",
			Email: "alice@contoso.example", UPN: "alice@contoso.example",
			OID: "a11ce000-0000-4000-8000-0000000a11ce", Groups: []string{GroupPlatformAdmins},
		},
		{
			Username: "bob", Password: "password", Name: "Bob Builder",
			Email: "bob@contoso.example", UPN: "bob@contoso.example",
			OID: "b0b00000-0000-4000-8000-000000000b0b", Groups: []string{GroupDevelopers},
		},
		{
			Username: "guest", Password: "password", Name: "Gail Guest",
			Email: "gail@fabrikam.example",
			OID:   "9e570000-0000-4000-8000-0000000009e5", Groups: []string{GroupViewers},
		},
		{
			Username: "many", Password: "password", Name: "Manny Groups",
			Email: "many@contoso.example", UPN: "many@contoso.example",
			OID: "3a4e0000-0000-4000-8000-000000003a4e", Groups: manyGroups(),
		},
		{
			Username: "overage", Password: "password", Name: "Olive Overage",
			Email: "overage@contoso.example", UPN: "overage@contoso.example",
			OID: "0fe40000-0000-4000-8000-0000000000fe", Groups: overageGroups(),
		},
	}
}

func overageGroups() []string {
	groups := manyGroups()
	for i := 1; i <= projectGroupsCount; i++ {
		groups = append(groups, projectGroupID(i))
	}
	return groups
}

func projectGroupID(i int) string { return fmt.Sprintf("9a0e0000-0000-4000-8000-%012d", i) }

func manyGroups() []string {
	groups := []string{GroupDevelopers}
	for i := 1; len(groups) < manyGroupsCount; i++ {
		groups = append(groups, teamGroupID(i))
	}
	return groups
}

func teamGroupID(i int) string { return fmt.Sprintf("7ea30000-0000-4000-8000-%012d", i) }

// GroupName returns the display name of a sample group ("platform-admins", "developers",
// "viewers", "team-001" … "team-199", "project-001" … "project-050"), or "" for an id it
// does not know.
func (p *Provider) GroupName(id string) string {
	switch id {
	case GroupPlatformAdmins:
		return "platform-admins"
	case GroupDevelopers:
		return "developers"
	case GroupViewers:
		return "viewers"
	}
	var n int
	if _, err := fmt.Sscanf(id, "7ea30000-0000-4000-8000-%012d", &n); err == nil && n >= 1 && n < manyGroupsCount && teamGroupID(n) == id {
		return fmt.Sprintf("team-%03d", n)
	}
	if _, err := fmt.Sscanf(id, "9a0e0000-0000-4000-8000-%012d", &n); err == nil && n >= 1 && n <= projectGroupsCount && projectGroupID(n) == id {
		return fmt.Sprintf("project-%03d", n)
	}
	return ""
}
