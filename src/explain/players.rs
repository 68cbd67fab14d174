//! The players of the coalition game: every data column on its own, or declared groups of
//! columns that enter and leave a coalition together (dummies made with `pd.get_dummies`,
//! measurements taken together). A group's value is the Shapley value of the game in which it
//! is one player — not the sum of its members' values in the game of single columns.

use super::{ExplainError, Setting};

/// Columns that belong together, by data name.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Group {
    pub name: String,
    pub columns: Vec<String>,
}

impl Group {
    /// Parses `name=col_a,col_b` (the command line's `--group` and the window's field).
    pub fn parse(spec: &str) -> Result<Group, ExplainError> {
        let bad =
            |problem: &str| ExplainError::setting(Setting::Groups, format!("`{spec}`"), problem);
        let (name, columns) = spec
            .split_once('=')
            .ok_or_else(|| bad("needs the form name=column,column"))?;
        let name = name.trim();
        let columns: Vec<String> = columns
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(String::from)
            .collect();
        if name.is_empty() {
            return Err(bad("has no group name before `=`"));
        }
        if columns.is_empty() {
            return Err(bad("names no columns after `=`"));
        }
        Ok(Group {
            name: name.to_string(),
            columns,
        })
    }

    /// The groups a model card declares.
    pub fn of_card(card: &crate::model::ModelCard) -> Vec<Group> {
        card.groups
            .iter()
            .flatten()
            .map(|(name, columns)| Group {
                name: name.clone(),
                columns: columns.clone(),
            })
            .collect()
    }

    /// Parses groups separated by `;` (`city=city_a,city_b; size=w,h`).
    pub fn parse_list(text: &str) -> Result<Vec<Group>, ExplainError> {
        text.split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(Group::parse)
            .collect()
    }

    /// The form [`Group::parse_list`] reads back.
    pub fn format_list(groups: &[Group]) -> String {
        groups
            .iter()
            .map(|g| format!("{}={}", g.name, g.columns.join(",")))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Who plays: each player is a name and the data columns it brings into a coalition. Players
/// are in data-column order, a group where its first column is.
#[derive(Clone, Debug, PartialEq)]
pub struct Players {
    names: Vec<String>,
    members: Vec<Vec<usize>>,
    grouped: bool,
}

impl Players {
    /// Every column on its own.
    pub fn columns(names: &[String]) -> Players {
        Players {
            names: names.to_vec(),
            members: (0..names.len()).map(|j| vec![j]).collect(),
            grouped: false,
        }
    }

    /// The columns `names` with `groups` each made one player. A column named by no group
    /// plays alone; a column in two groups, an unknown column or a repeated group name is
    /// refused, naming it.
    pub fn grouped(names: &[String], groups: &[Group]) -> Result<Players, ExplainError> {
        if groups.is_empty() {
            return Ok(Players::columns(names));
        }
        let mut group_of: Vec<Option<usize>> = vec![None; names.len()];
        for (g, group) in groups.iter().enumerate() {
            let bad = |problem: String| {
                ExplainError::setting(Setting::Groups, format!("`{}`", group.name), problem)
            };
            if groups[..g].iter().any(|h| h.name == group.name) {
                return Err(bad("is declared twice".into()));
            }
            if names.contains(&group.name) && !group.columns.contains(&group.name) {
                return Err(bad(
                    "is also a column's name; name the group differently".into()
                ));
            }
            for column in &group.columns {
                let Some(j) = names.iter().position(|n| n == column) else {
                    return Err(bad(format!(
                        "names `{column}`, which is not one of the model's columns ({})",
                        crate::data::name_list(names)
                    )));
                };
                match group_of[j] {
                    Some(h) if h == g => {}
                    Some(h) => {
                        return Err(bad(format!(
                            "takes `{column}`, which is already in group `{}`",
                            groups[h].name
                        )));
                    }
                    None => group_of[j] = Some(g),
                }
            }
        }
        let mut players = Players {
            names: Vec::new(),
            members: Vec::new(),
            grouped: true,
        };
        let mut placed: Vec<Option<usize>> = vec![None; groups.len()];
        for (j, name) in names.iter().enumerate() {
            match group_of[j] {
                None => {
                    players.names.push(name.clone());
                    players.members.push(vec![j]);
                }
                Some(g) => match placed[g] {
                    Some(p) => players.members[p].push(j),
                    None => {
                        placed[g] = Some(players.names.len());
                        players.names.push(groups[g].name.clone());
                        players.members.push(vec![j]);
                    }
                },
            }
        }
        Ok(players)
    }

    /// Number of players.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Number of data columns the players bring.
    pub fn n_columns(&self) -> usize {
        self.members.iter().map(Vec::len).sum()
    }

    /// The players' names: a column's, or a group's.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The data columns of player `p`.
    pub fn members(&self, p: usize) -> &[usize] {
        &self.members[p]
    }

    /// True when some player is a group.
    pub fn is_grouped(&self) -> bool {
        self.grouped
    }

    /// The groups, by name with their columns' names (for outputs), in player order.
    pub fn groups(&self, column_names: &[String]) -> Vec<Group> {
        if !self.grouped {
            return Vec::new();
        }
        self.names
            .iter()
            .zip(&self.members)
            .filter(|(name, m)| m.len() > 1 || column_names.get(m[0]) != Some(*name))
            .map(|(name, m)| Group {
                name: name.clone(),
                columns: m.iter().map(|&j| column_names[j].clone()).collect(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn groups_play_where_their_first_column_is() {
        let cols = names(&["a", "city_x", "b", "city_y", "c"]);
        let groups = Group::parse_list("city = city_x, city_y").unwrap();
        let p = Players::grouped(&cols, &groups).unwrap();
        assert_eq!(p.names(), &names(&["a", "city", "b", "c"])[..]);
        assert_eq!(p.members(1), &[1, 3]);
        assert_eq!(p.members(3), &[4]);
        assert_eq!(p.n_columns(), 5);
        assert_eq!(p.groups(&cols), groups);
        assert_eq!(Group::format_list(&groups), "city=city_x,city_y");
    }

    #[test]
    fn bad_groups_are_refused_by_name() {
        let cols = names(&["a", "b", "c"]);
        let err = |text: &str| {
            Players::grouped(&cols, &Group::parse_list(text).unwrap())
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err("g=a,z"),
            "group `g` names `z`, which is not one of the model's columns (`a`, `b`, `c`)"
        );
        assert_eq!(
            err("g=a,b; h=b,c"),
            "group `h` takes `b`, which is already in group `g`"
        );
        assert_eq!(err("g=a; g=b"), "group `g` is declared twice");
        assert_eq!(
            Group::parse("nothing").unwrap_err().to_string(),
            "group `nothing` needs the form name=column,column"
        );
    }
}
