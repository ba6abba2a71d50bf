//! Events under construction: [`Ev`] builds an [`Event`] from the caller, the tenant and what
//! was done, tagged with the id of the request that caused it ([`request`]).

use datapact_governance::{ApiKey, OrgId, Purpose, Reason, Tenant, TenantId};

use crate::entry::{Action, Actor, Event, Label, Outcome, Resource};
use crate::request::current as request_id;

/// An audit event under construction.
#[derive(Debug, Clone)]
pub struct Ev(pub Event);

impl Ev {
    /// `action` by the caller, allowed unless said otherwise.
    pub fn by(c: &ApiKey, action: Action) -> Self {
        let mut e = Event::new(
            Actor {
                key: Some(c.id),
                role: Some(c.role),
            },
            action,
            Outcome::Allowed,
        );
        e.request_id = request_id();
        e.org = c.org;
        e.tenant = c.tenant;
        Self(e)
    }

    /// `action` by datapact's own background work.
    pub fn system(action: Action) -> Self {
        let mut e = Event::new(Actor::system(), action, Outcome::Allowed);
        e.request_id = request_id();
        Self(e)
    }

    /// The same event for another action.
    pub fn retag(mut self, action: Action) -> Self {
        self.0.action = action;
        self
    }

    /// The organization concerned.
    pub fn org(mut self, org: OrgId) -> Self {
        self.0.org = Some(org);
        self
    }

    /// The tenant concerned (its organization and region too).
    pub fn tenant(mut self, t: &Tenant) -> Self {
        self.0.tenant = Some(t.id);
        self.0.org = Some(t.org);
        self.0.region = Label::new(&t.region).ok();
        self
    }

    /// The tenant concerned, by id.
    pub fn tenant_id(mut self, t: TenantId) -> Self {
        self.0.tenant = Some(t);
        self
    }

    /// The product concerned.
    pub fn product(mut self, p: &str) -> Self {
        self.0.product = Label::new(p).ok();
        self
    }

    /// The purpose.
    pub fn purpose(mut self, p: Purpose) -> Self {
        self.0.purpose = Some(p);
        self
    }

    /// Where processing happened.
    pub fn region(mut self, r: &str) -> Self {
        self.0.region = Label::new(r).ok();
        self
    }

    /// A resource, by id.
    pub fn resource(mut self, r: Resource) -> Self {
        self.0.resources.push(r);
        self
    }

    /// Resources, by id.
    pub fn resources(mut self, rs: impl IntoIterator<Item = Resource>) -> Self {
        self.0.resources.extend(rs);
        self
    }

    /// How it ended.
    pub fn outcome(mut self, o: Outcome) -> Self {
        self.0.outcome = o;
        self
    }

    /// A decision's reason codes (the messages are derived from the codes, so not kept).
    pub fn reasons(mut self, rs: &[Reason]) -> Self {
        self.0.reasons = rs.iter().map(|r| r.code).collect();
        self
    }

    /// A keyed hash correlating a sensitive value (the vault's `Vault::correlate`).
    pub fn correlation(mut self, c: String) -> Self {
        self.0.correlation = Some(c);
        self
    }
}
