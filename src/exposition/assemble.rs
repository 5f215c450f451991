//! Merging the pre-encoded snapshots of all sources into one response body.

use std::collections::HashMap;

use super::encode::{EncodedFamily, EncodedSnapshot};
use super::format_value::{write_help_classic, write_help_openmetrics};
use super::Format;
use crate::model::MetricType;

/// A family left out of the output because an earlier part already owns its name (with
/// another type) or one of the sample names it would write in the requested format.
/// `<name>_created` is written only in OpenMetrics and only by a family that has such
/// samples, so a `foo_created` gauge beside a counter or histogram `foo` is a conflict
/// in OpenMetrics output when `foo` has `_created` samples, and never in classic output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeConflict {
    /// The source whose family was dropped.
    pub source: String,
    /// The dropped family's name.
    pub family: String,
    /// Type of the family that kept the name.
    pub kept: MetricType,
    /// Type of the dropped family. Equal to `kept` only for a counter written as
    /// `foo_total` by one source and as bare `foo` by another.
    pub dropped: MetricType,
}

/// Appends the union of `parts` to `out` in `format`: families sorted by name, each under
/// one header, with the samples of every source that has the family in `parts` order.
/// The header (HELP, UNIT) comes from the first part with the family. Returns the
/// families that had to be left out, which can differ between the two formats.
pub fn assemble(
    parts: &[(&str, &EncodedSnapshot)],
    format: Format,
    out: &mut Vec<u8>,
) -> Vec<TypeConflict> {
    let Plan {
        owners,
        mut contributions,
        conflicts,
    } = plan(parts, format);

    // Rank owners by name, then stable-sort contributions by rank: each family's samples
    // become contiguous while sources stay in `parts` order within it.
    let mut order: Vec<usize> = (0..owners.len()).collect();
    order.sort_unstable_by(|&a, &b| owners[a].name.cmp(&owners[b].name));
    let mut rank = vec![0; owners.len()];
    for (r, &owner) in order.iter().enumerate() {
        rank[owner] = r;
    }
    contributions.sort_by_key(|&(owner, _)| rank[owner]);

    let body_len: usize = contributions
        .iter()
        .map(|(_, f)| lines(f, format).len())
        .sum();
    let header_len: usize = owners
        .iter()
        .map(|f| 2 * f.name.len() + f.help.len() + f.unit.len() + 64)
        .sum();
    out.reserve(body_len + header_len + 8);

    let mut rest = contributions.as_slice();
    while let Some(&(owner, _)) = rest.first() {
        let group_len = rest.iter().take_while(|(o, _)| *o == owner).count();
        let (group, tail) = rest.split_at(group_len);
        rest = tail;
        let head = owners[owner];
        // A family can render to nothing in classic (a counter with only `_created`
        // samples); its header alone would be an orphan.
        if group.iter().all(|(_, f)| lines(f, format).is_empty()) {
            continue;
        }
        match format {
            Format::Classic => write_classic_header(out, head),
            Format::OpenMetrics => write_openmetrics_header(out, head),
        }
        for (_, family) in group {
            out.extend_from_slice(lines(family, format));
        }
    }
    if format == Format::OpenMetrics {
        out.extend_from_slice(b"# EOF\n");
    }
    conflicts
}

/// Who owns each output family, which part contributes what, and what is left out.
struct Plan<'a> {
    owners: Vec<&'a EncodedFamily>,
    contributions: Vec<(usize, &'a EncodedFamily)>,
    conflicts: Vec<TypeConflict>,
}

/// The families `assemble` would leave out of `parts` in `format`, without writing
/// anything: remote write leaves the same ones out of a push.
pub fn conflicts(parts: &[(&str, &EncodedSnapshot)], format: Format) -> Vec<TypeConflict> {
    plan(parts, format).conflicts
}

fn plan<'a>(parts: &[(&str, &'a EncodedSnapshot)], format: Format) -> Plan<'a> {
    let mut conflicts = Vec::new();
    let family_count: usize = parts.iter().map(|(_, s)| s.families().len()).sum();
    // Index of the owning family per output family, and who owns each claimable name.
    let mut owners: Vec<&EncodedFamily> = Vec::with_capacity(family_count);
    let mut by_name: HashMap<&str, usize> = HashMap::with_capacity(family_count);
    let mut claims: HashMap<&str, usize> = HashMap::with_capacity(family_count * 3);
    let mut contributions: Vec<(usize, &EncodedFamily)> = Vec::with_capacity(family_count);

    for &(source, snapshot) in parts {
        for family in snapshot.families() {
            if let Some(&owner) = by_name.get(family.name.as_str()) {
                if !owners[owner].same_shape(family) {
                    conflicts.push(conflict(source, family, owners[owner]));
                    continue;
                }
                // Same name and shape give the same claims, except that this family may
                // write `_created` samples where the owner does not: they would land
                // under the owner's header beside another family's `foo_created`.
                if let Some(created) = family.created_claim(format) {
                    match claims.get(created) {
                        Some(&other) if other != owner => {
                            conflicts.push(conflict(source, family, owners[other]));
                            continue;
                        }
                        Some(_) => {}
                        None => {
                            claims.insert(created, owner);
                        }
                    }
                }
                contributions.push((owner, family));
                continue;
            }
            let own = family.claims(format);
            let clash = own.iter().find_map(|c| claims.get(c.as_str()));
            if let Some(&owner) = clash {
                conflicts.push(conflict(source, family, owners[owner]));
                continue;
            }
            let index = owners.len();
            owners.push(family);
            by_name.insert(family.name.as_str(), index);
            for claim in own {
                claims.insert(claim.as_str(), index);
            }
            contributions.push((index, family));
        }
    }
    Plan {
        owners,
        contributions,
        conflicts,
    }
}

fn lines(family: &EncodedFamily, format: Format) -> &[u8] {
    match format {
        Format::Classic => family.classic_lines(),
        Format::OpenMetrics => family.openmetrics_lines(),
    }
}

fn conflict(source: &str, dropped: &EncodedFamily, kept: &EncodedFamily) -> TypeConflict {
    TypeConflict {
        source: source.to_owned(),
        family: dropped.name.clone(),
        kept: kept.kind,
        dropped: dropped.kind,
    }
}

fn write_classic_header(out: &mut Vec<u8>, family: &EncodedFamily) {
    let suffix = family.classic_suffix().as_bytes();
    if !family.help.is_empty() {
        out.extend_from_slice(b"# HELP ");
        out.extend_from_slice(family.name.as_bytes());
        out.extend_from_slice(suffix);
        out.push(b' ');
        write_help_classic(out, &family.help);
        out.push(b'\n');
    }
    out.extend_from_slice(b"# TYPE ");
    out.extend_from_slice(family.name.as_bytes());
    out.extend_from_slice(suffix);
    out.push(b' ');
    out.extend_from_slice(family.classic_type().as_bytes());
    out.push(b'\n');
}

fn write_openmetrics_header(out: &mut Vec<u8>, family: &EncodedFamily) {
    let name = family.name.as_bytes();
    if !family.help.is_empty() {
        out.extend_from_slice(b"# HELP ");
        out.extend_from_slice(name);
        out.push(b' ');
        write_help_openmetrics(out, &family.help);
        out.push(b'\n');
    }
    out.extend_from_slice(b"# TYPE ");
    out.extend_from_slice(name);
    out.push(b' ');
    out.extend_from_slice(family.openmetrics_type().as_bytes());
    out.push(b'\n');
    // OpenMetrics requires the family name to end in `_<unit>`; a unit that does not
    // match would make strict parsers reject the whole exposition, so it is omitted.
    let unit = family.unit.as_bytes();
    let unit_matches = !unit.is_empty()
        && name.len() > unit.len()
        && name.ends_with(unit)
        && name[name.len() - unit.len() - 1] == b'_';
    if unit_matches {
        out.extend_from_slice(b"# UNIT ");
        out.extend_from_slice(name);
        out.push(b' ');
        out.extend_from_slice(unit);
        out.push(b'\n');
    }
}
