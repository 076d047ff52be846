//! An independent walk of a CloudFormation template's YAML (not the plan's parser): what the
//! exactness tests compare the plan against.
#![allow(dead_code)] // each test binary uses the part it needs

use serde_yaml::Value;
use std::collections::BTreeSet;

/// Every string under every `Action` key, anywhere in the document.
pub fn actions(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Mapping(m) => {
            for (k, v) in m {
                if k.as_str() == Some("Action") {
                    match v {
                        Value::String(s) => {
                            out.insert(s.clone());
                        }
                        Value::Sequence(seq) => out.extend(seq.iter().filter_map(|x| x.as_str().map(String::from))),
                        _ => {}
                    }
                }
                actions(v, out);
            }
        }
        Value::Sequence(s) => s.iter().for_each(|x| actions(x, out)),
        Value::Tagged(t) => actions(&t.value, out),
        _ => {}
    }
}

/// Number of mappings with an `Effect` key: the statements.
pub fn statements(v: &Value) -> usize {
    match v {
        Value::Mapping(m) => usize::from(m.contains_key("Effect")) + m.values().map(statements).sum::<usize>(),
        Value::Sequence(s) => s.iter().map(statements).sum(),
        Value::Tagged(t) => statements(&t.value),
        _ => 0,
    }
}
