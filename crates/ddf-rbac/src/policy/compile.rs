//! Validation of a [`PolicySpec`] and its compilation into flat per-role
//! pattern lists.

use std::collections::{BTreeSet, HashMap};
use std::hash::BuildHasherDefault;

use super::spec::PolicySpec;
use super::{CompiledRole, Inner, RoleIndex, RoleMap, RuleEntry};
use crate::error::{Location, PolicyProblem, ProblemKind, RbacError, quote_input};
use crate::permission::Pattern;

/// The maximum number of roles in a policy.
pub const MAX_ROLES: usize = 10_000;

/// The maximum number of patterns (grants and denies, own and inherited) of
/// one role after inheritance is flattened.
pub const MAX_PATTERNS_PER_ROLE: usize = 1_024;

/// The maximum length of a role name, in bytes.
pub const MAX_ROLE_NAME_LEN: usize = 64;

/// Checks a role name: 1 to 64 bytes of ASCII letters, digits, `_`, `-`,
/// `.`, `:` and `/`.
pub(crate) fn check_role_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("the name is empty");
    }
    if name.len() > MAX_ROLE_NAME_LEN {
        return Err("the name is longer than 64 bytes");
    }
    let allowed = |byte: u8| byte.is_ascii_alphanumeric() || b"_-.:/".contains(&byte);
    if !name.bytes().all(allowed) {
        return Err("use only ASCII letters, digits, '_', '-', '.', ':' and '/'");
    }
    Ok(())
}

/// A role's parsed patterns and resolved parents, before flattening.
struct ParsedRole {
    grants: Vec<Pattern>,
    denies: Vec<Pattern>,
    parents: Vec<usize>,
}

/// Validates `spec` and compiles it, or returns every problem found.
pub(crate) fn compile(spec: &PolicySpec) -> Result<Inner, RbacError> {
    if spec.roles.len() > MAX_ROLES {
        // Stop here so that the rest of the work stays bounded.
        return Err(invalid(vec![PolicyProblem {
            role: None,
            location: Location::Role,
            kind: ProblemKind::TooManyRoles {
                count: spec.roles.len(),
                max: MAX_ROLES,
            },
        }]));
    }

    let mut problems = Vec::new();
    let mut by_name: HashMap<&str, usize> = HashMap::with_capacity(spec.roles.len());
    for (position, role) in spec.roles.iter().enumerate() {
        if let Err(reason) = check_role_name(&role.name) {
            problems.push((
                position,
                role_problem(
                    &role.name,
                    Location::Role,
                    ProblemKind::InvalidRoleName { reason },
                ),
            ));
        }
        if let Some(&first) = by_name.get(role.name.as_str()) {
            problems.push((
                position,
                role_problem(
                    &role.name,
                    Location::Role,
                    ProblemKind::DuplicateRole { first },
                ),
            ));
        } else {
            by_name.insert(&role.name, position);
        }
    }

    let mut parsed = Vec::with_capacity(spec.roles.len());
    for (position, role) in spec.roles.iter().enumerate() {
        let mut report =
            |location, kind| problems.push((position, role_problem(&role.name, location, kind)));
        let grants = parse_patterns(
            &role.permissions,
            Location::Permissions,
            spec.allow_superuser,
            &mut report,
        );
        // A deny of `*` only takes rights away, so it needs no opt-in.
        let denies = parse_patterns(&role.deny, Location::Deny, true, &mut report);
        let mut parents = Vec::with_capacity(role.inherits.len());
        for (index, parent) in role.inherits.iter().enumerate() {
            match by_name.get(parent.as_str()) {
                Some(&parent_position) => parents.push(parent_position),
                None => report(
                    Location::Inherits(index),
                    ProblemKind::UnknownParent {
                        parent: quote_input(parent),
                    },
                ),
            }
        }
        parsed.push(ParsedRole {
            grants,
            denies,
            parents,
        });
    }

    for cycle in find_cycles(&parsed) {
        let names: Vec<String> = cycle
            .iter()
            .map(|&position| spec.roles[position].name.clone())
            .collect();
        problems.push((
            cycle[0],
            role_problem(
                &spec.roles[cycle[0]].name,
                Location::Role,
                ProblemKind::InheritanceCycle { cycle: names },
            ),
        ));
    }

    if problems.is_empty() {
        let (inner, flatten_problems) = flatten(spec, &parsed);
        if flatten_problems.is_empty() {
            return Ok(inner);
        }
        problems = flatten_problems;
    }

    // Report in the order of the roles in the policy; the sort is stable, so
    // problems of one role keep the order in which they were found.
    problems.sort_by_key(|(position, _)| *position);
    Err(invalid(
        problems.into_iter().map(|(_, problem)| problem).collect(),
    ))
}

fn invalid(problems: Vec<PolicyProblem>) -> RbacError {
    RbacError::InvalidPolicy { problems }
}

fn role_problem(role: &str, location: Location, kind: ProblemKind) -> PolicyProblem {
    PolicyProblem {
        role: Some(role.to_owned()),
        location,
        kind,
    }
}

/// Parses each pattern of one list, reporting every invalid entry.
fn parse_patterns(
    inputs: &[String],
    location: fn(usize) -> Location,
    allow_global: bool,
    report: &mut impl FnMut(Location, ProblemKind),
) -> Vec<Pattern> {
    let mut patterns = Vec::with_capacity(inputs.len());
    for (index, input) in inputs.iter().enumerate() {
        match Pattern::parse(input) {
            Ok(pattern) if pattern.is_global() && !allow_global => report(
                location(index),
                ProblemKind::SuperuserNotEnabled {
                    input: quote_input(input),
                },
            ),
            Ok(pattern) => patterns.push(pattern),
            Err(RbacError::InvalidPattern { input, rule }) => {
                report(location(index), ProblemKind::InvalidPattern { input, rule });
            }
            Err(other) => unreachable!("Pattern::parse returned {other:?}"),
        }
    }
    patterns
}

/// DFS colours for cycle detection.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Colour {
    Unvisited,
    OnPath,
    Done,
}

/// Finds inheritance cycles with an iterative depth-first search, so a long
/// chain of roles cannot overflow the stack.
///
/// Each cycle is returned once, rotated to start at its lowest position and
/// closed by repeating that position (`[a, b, a]`). Every role that lies on
/// a cycle is on at least one reported cycle.
fn find_cycles(roles: &[ParsedRole]) -> Vec<Vec<usize>> {
    let mut colour = vec![Colour::Unvisited; roles.len()];
    let mut found = BTreeSet::new();
    // Each frame is a role and the index of the next parent to visit.
    let mut path: Vec<(usize, usize)> = Vec::new();

    for start in 0..roles.len() {
        if colour[start] != Colour::Unvisited {
            continue;
        }
        colour[start] = Colour::OnPath;
        path.push((start, 0));

        while let Some(&mut (role, ref mut next)) = path.last_mut() {
            let Some(&parent) = roles[role].parents.get(*next) else {
                colour[role] = Colour::Done;
                path.pop();
                continue;
            };
            *next += 1;
            match colour[parent] {
                Colour::Unvisited => {
                    colour[parent] = Colour::OnPath;
                    path.push((parent, 0));
                }
                Colour::OnPath => {
                    let from = path
                        .iter()
                        .position(|&(on_path, _)| on_path == parent)
                        .unwrap_or(0);
                    let mut cycle: Vec<usize> =
                        path[from..].iter().map(|&(on_path, _)| on_path).collect();
                    let lowest = cycle
                        .iter()
                        .enumerate()
                        .min_by_key(|&(_, position)| *position)
                        .map_or(0, |(index, _)| index);
                    cycle.rotate_left(lowest);
                    cycle.push(cycle[0]);
                    found.insert(cycle);
                }
                Colour::Done => {}
            }
        }
    }
    found.into_iter().collect()
}

/// Returns the roles in an order where every parent comes before its
/// children. The graph must be acyclic.
fn parents_first(roles: &[ParsedRole]) -> Vec<usize> {
    let mut order = Vec::with_capacity(roles.len());
    let mut visited = vec![false; roles.len()];
    let mut path: Vec<(usize, usize)> = Vec::new();
    for start in 0..roles.len() {
        if visited[start] {
            continue;
        }
        visited[start] = true;
        path.push((start, 0));
        while let Some(&mut (role, ref mut next)) = path.last_mut() {
            if let Some(&parent) = roles[role].parents.get(*next) {
                *next += 1;
                if !visited[parent] {
                    visited[parent] = true;
                    path.push((parent, 0));
                }
            } else {
                order.push(role);
                path.pop();
            }
        }
    }
    order
}

/// A pattern reference during flattening: the declaring role and the
/// pattern's index in that role's grant or deny list.
type PatternRef = (usize, usize);

/// Flattens inheritance: each role gets its own patterns followed by those of
/// its ancestors, each pattern once.
fn flatten(spec: &PolicySpec, parsed: &[ParsedRole]) -> (Inner, Vec<(usize, PolicyProblem)>) {
    let mut problems = Vec::new();
    let mut effective_grants: Vec<Vec<PatternRef>> = vec![Vec::new(); parsed.len()];
    let mut effective_denies: Vec<Vec<PatternRef>> = vec![Vec::new(); parsed.len()];
    let mut grant_seen = Membership::new(parsed, |role| role.grants.len());
    let mut deny_seen = Membership::new(parsed, |role| role.denies.len());

    for role in parents_first(parsed) {
        let mut grants = Vec::new();
        let mut denies = Vec::new();
        grant_seen.add_own(role, parsed[role].grants.len(), &mut grants);
        deny_seen.add_own(role, parsed[role].denies.len(), &mut denies);
        for &parent in &parsed[role].parents {
            grant_seen.merge(role, &effective_grants[parent], &mut grants);
            deny_seen.merge(role, &effective_denies[parent], &mut denies);
            // Stop growing past the limit, so the work stays bounded.
            if grants.len() + denies.len() > MAX_PATTERNS_PER_ROLE {
                break;
            }
        }
        if grants.len() + denies.len() > MAX_PATTERNS_PER_ROLE {
            let kind = ProblemKind::TooManyPatterns {
                max: MAX_PATTERNS_PER_ROLE,
            };
            problems.push((
                role,
                role_problem(&spec.roles[role].name, Location::Role, kind),
            ));
        }
        effective_grants[role] = grants;
        effective_denies[role] = denies;
    }

    let mut rules = Vec::new();
    let mut compiled_roles = Vec::with_capacity(parsed.len());
    let mut index = RoleMap::with_capacity_and_hasher(parsed.len(), BuildHasherDefault::default());
    let to_entry =
        |&(source, local): &PatternRef, list: fn(&ParsedRole) -> &Vec<Pattern>| RuleEntry {
            pattern: list(&parsed[source])[local].clone(),
            source: source as RoleIndex,
        };
    for (position, role) in spec.roles.iter().enumerate() {
        let grants_start = rules.len();
        rules.extend(
            effective_grants[position]
                .iter()
                .map(|pattern| to_entry(pattern, |role| &role.grants)),
        );
        let denies_start = rules.len();
        rules.extend(
            effective_denies[position]
                .iter()
                .map(|pattern| to_entry(pattern, |role| &role.denies)),
        );
        compiled_roles.push(CompiledRole {
            name: role.name.as_str().into(),
            grants: grants_start..denies_start,
            denies: denies_start..rules.len(),
        });
        index.insert(role.name.as_str().into(), position as RoleIndex);
    }

    let inner = Inner {
        index,
        roles: compiled_roles,
        rules,
        allow_superuser: spec.allow_superuser,
    };
    (inner, problems)
}

/// Tracks which patterns a role's flattened list already holds, in time
/// proportional to the entries merged (no quadratic `contains`).
struct Membership {
    /// The first global id of each role's patterns.
    offsets: Vec<usize>,
    /// For each global pattern id, 1 + the role whose list last took it.
    stamps: Vec<usize>,
}

impl Membership {
    fn new(parsed: &[ParsedRole], count: fn(&ParsedRole) -> usize) -> Self {
        let mut offsets = Vec::with_capacity(parsed.len());
        let mut total = 0;
        for role in parsed {
            offsets.push(total);
            total += count(role);
        }
        Self {
            offsets,
            stamps: vec![0; total],
        }
    }

    fn add_own(&mut self, role: usize, count: usize, list: &mut Vec<PatternRef>) {
        for local in 0..count {
            self.stamps[self.offsets[role] + local] = role + 1;
            list.push((role, local));
        }
    }

    /// Appends the entries of `from` that `list` does not hold yet.
    fn merge(&mut self, role: usize, from: &[PatternRef], list: &mut Vec<PatternRef>) {
        for &(source, local) in from {
            let stamp = &mut self.stamps[self.offsets[source] + local];
            if *stamp != role + 1 {
                *stamp = role + 1;
                list.push((source, local));
            }
        }
    }
}
