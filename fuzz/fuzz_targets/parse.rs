//! Arbitrary bytes through both parsers: any input must give `Ok` or a `ParseError`,
//! never a panic, and tight limits must not change that.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stack_exporter::exposition::parse::{parse_detailed, ParseLimits};
use stack_exporter::exposition::Format;

fuzz_target!(|data: &[u8]| {
    let tight = ParseLimits {
        max_series: 8,
        max_line_length: 64,
        max_label_count: 3,
        max_label_value_length: 8,
    };
    for format in [Format::Classic, Format::OpenMetrics] {
        for limits in [ParseLimits::unlimited(), tight.clone()] {
            if let Ok(parsed) = parse_detailed(data, format, &limits) {
                // Every exemplar must point at a sample that exists.
                for e in &parsed.exemplars {
                    assert!(parsed
                        .families
                        .get(e.family)
                        .and_then(|f| f.samples.get(e.sample))
                        .is_some());
                }
            }
        }
    }
});
