//! Reads divan's table output (divan has no machine-readable output yet):
//! one function, [`parse`], so that it can be swapped when divan gains JSON.

use anyhow::{Context, Result, bail};

/// One benchmark row: its full path (`binary/group/.../name`) and median.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    pub(crate) path: String,
    pub(crate) median_ns: f64,
}

/// A duration as divan prints it (`1.5 µs`, `725.5 ms`, `2 s`), in nanoseconds.
fn duration_ns(text: &str) -> Result<f64> {
    let (value, unit) = text.trim().split_once(' ').with_context(|| format!("no unit in {text:?}"))?;
    let value: f64 = value.parse().with_context(|| format!("bad number in {text:?}"))?;
    let scale = match unit {
        "ps" => 1e-3,
        "ns" => 1.0,
        "µs" | "μs" | "us" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        other => bail!("unknown time unit {other:?} in {text:?}"),
    };
    Ok(value * scale)
}

/// Every benchmark row of one divan run's output, in order. Group rows
/// (without numbers) and counter rows (throughput, under a benchmark) only
/// shape the paths.
pub(crate) fn parse(output: &str) -> Result<Vec<Row>> {
    let mut lines = output.lines();
    let header = lines
        .by_ref()
        .find(|line| line.contains("fastest") && line.contains("median"))
        .context("no divan table header (fastest … median) in the output")?;
    let root = header.split_whitespace().next().context("empty header")?.to_owned();
    let fastest_byte = header.find("fastest").context("no fastest column")?;
    let value_column = header[..fastest_byte].chars().count();
    let mut stack: Vec<String> = Vec::new();
    let mut rows = Vec::new();
    for line in lines {
        let chars: Vec<char> = line.chars().collect();
        let Some(marker) = chars.windows(2).position(|pair| (pair[0] == '├' || pair[0] == '╰') && pair[1] == '─')
        else {
            continue;
        };
        let depth = marker / 3;
        // The name sits between the tree marker and the first value column;
        // the values follow, separated by `│` (the tree also uses `│`, which
        // is why the row is cut at the column position first).
        let name_end = value_column.min(chars.len());
        let name: String = chars.get(marker + 3..name_end).unwrap_or_default().iter().collect();
        let name = name.trim().to_owned();
        if name.is_empty() {
            bail!("a row without a name: {line:?}");
        }
        stack.truncate(depth);
        stack.push(name);
        let values: String = chars.get(value_column..).unwrap_or_default().iter().collect();
        let fields: Vec<&str> = values.split('│').collect();
        let median = fields.get(2).map_or("", |field| field.trim());
        if median.is_empty() {
            continue;
        }
        let median_ns = duration_ns(median).with_context(|| format!("in row {line:?}"))?;
        rows.push(Row { path: format!("{root}/{}", stack.join("/")), median_ns });
    }
    Ok(rows)
}
