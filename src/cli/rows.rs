//! Row selections on the command line: `--rows` and `--shard`.

/// `0..20`, `100..`, `7`, `3,5,9` — sorted, without duplicates, each checked against `n`.
pub fn parse_rows(spec: &str, n: usize) -> anyhow::Result<Vec<usize>> {
    let bad = || {
        anyhow::anyhow!(
            "--rows `{spec}`: expected a range like 0..20, a row like 7, or a list like 3,5,9"
        )
    };
    let mut rows = Vec::new();
    for part in spec.split(',').map(str::trim) {
        if let Some((a, b)) = part.split_once("..") {
            let start: usize = if a.is_empty() {
                0
            } else {
                a.parse().map_err(|_| bad())?
            };
            let end: usize = if b.is_empty() {
                n
            } else {
                b.parse().map_err(|_| bad())?
            };
            rows.extend(start..end.min(n.max(start)));
            if end > n && !b.is_empty() {
                anyhow::bail!("--rows `{spec}`: the data has {n} rows (0..{n})");
            }
        } else {
            let r: usize = part.parse().map_err(|_| bad())?;
            if r >= n {
                anyhow::bail!(
                    "--rows `{spec}`: row {r} is out of range, the data has {n} rows (0..{n})"
                );
            }
            rows.push(r);
        }
    }
    rows.sort_unstable();
    rows.dedup();
    Ok(rows)
}

/// `i/n` with i < n.
pub fn parse_shard(spec: &str) -> anyhow::Result<(usize, usize)> {
    let parsed = spec
        .split_once('/')
        .and_then(|(i, n)| Some((i.trim().parse().ok()?, n.trim().parse().ok()?)));
    match parsed {
        Some((i, n)) if n > 0 && i < n => Ok((i, n)),
        _ => anyhow::bail!("--shard `{spec}`: expected i/n with 0 ≤ i < n, e.g. 0/4"),
    }
}
