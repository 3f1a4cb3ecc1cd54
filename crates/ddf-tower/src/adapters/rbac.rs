//! `Authorize` for [`ddf_rbac::Policy`].

use ddf_rbac::{Permission, Policy, Principal};

use crate::authorize::Authorize;

/// Decides with the policy and the principal's roles. A permission string
/// that does not parse (a configuration mistake in the service) denies.
impl Authorize for Policy {
    fn allows(&self, principal: &Principal, permission: &str) -> bool {
        Permission::parse(permission)
            .is_ok_and(|permission| self.allows_principal(principal, &permission))
    }
}
