//! The list of PostgreSQL collectors: the single place that knows their names, their
//! order, and which are enabled.

use crate::config::PostgresCollectors;
use crate::model::MetricFamily;
use crate::sources::PollError;

use super::{
    activity, bgwriter, custom, database, locks, postmaster, replication, settings, statements,
    timescaledb, user_tables, wal, PostgresSource,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Collector {
    Postmaster,
    Database,
    Activity,
    Locks,
    Bgwriter,
    Wal,
    Replication,
    Settings,
    UserTables,
    Statements,
    Timescaledb,
    Custom,
}

impl Collector {
    const ALL: [Collector; 12] = [
        Collector::Postmaster,
        Collector::Database,
        Collector::Activity,
        Collector::Locks,
        Collector::Bgwriter,
        Collector::Wal,
        Collector::Replication,
        Collector::Settings,
        Collector::UserTables,
        Collector::Statements,
        Collector::Timescaledb,
        Collector::Custom,
    ];

    /// The value of the `collector` label, and the key in the config's `collectors:`.
    pub fn name(self) -> &'static str {
        match self {
            Collector::Postmaster => "postmaster",
            Collector::Database => "database",
            Collector::Activity => "activity",
            Collector::Locks => "locks",
            Collector::Bgwriter => "bgwriter",
            Collector::Wal => "wal",
            Collector::Replication => "replication",
            Collector::Settings => "settings",
            Collector::UserTables => "user_tables",
            Collector::Statements => "statements",
            Collector::Timescaledb => "timescaledb",
            Collector::Custom => "custom",
        }
    }

    pub fn enabled(config: &PostgresCollectors, has_custom_queries: bool) -> Vec<Collector> {
        Collector::ALL
            .into_iter()
            .filter(|c| match c {
                Collector::Postmaster => config.postmaster,
                Collector::Database => config.database,
                Collector::Activity => config.activity,
                Collector::Locks => config.locks,
                Collector::Bgwriter => config.bgwriter,
                Collector::Wal => config.wal,
                Collector::Replication => config.replication,
                Collector::Settings => config.settings,
                Collector::UserTables => config.user_tables.is_some(),
                Collector::Statements => config.statements.is_some(),
                Collector::Timescaledb => config.timescaledb,
                Collector::Custom => has_custom_queries,
            })
            .collect()
    }

    pub async fn run(
        self,
        source: &mut PostgresSource,
        out: &mut Vec<MetricFamily>,
    ) -> Result<(), PollError> {
        match self {
            Collector::Postmaster => postmaster::collect(source, out).await,
            Collector::Database => database::collect(source, out).await,
            Collector::Activity => activity::collect(source, out).await,
            Collector::Locks => locks::collect(source, out).await,
            Collector::Bgwriter => bgwriter::collect(source, out).await,
            Collector::Wal => wal::collect(source, out).await,
            Collector::Replication => replication::collect(source, out).await,
            Collector::Settings => settings::collect(source, out).await,
            Collector::UserTables => user_tables::collect(source, out).await,
            Collector::Statements => statements::collect(source, out).await,
            Collector::Timescaledb => timescaledb::collect(source, out).await,
            Collector::Custom => custom::collect(source, out).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_enable_everything_but_custom_without_queries() {
        let all = Collector::enabled(&PostgresCollectors::default(), false);
        assert_eq!(all.len(), Collector::ALL.len() - 1);
        assert!(!all.contains(&Collector::Custom));
        assert!(
            Collector::enabled(&PostgresCollectors::default(), true).contains(&Collector::Custom)
        );
    }

    #[test]
    fn disabled_ones_are_left_out() {
        let config = PostgresCollectors {
            settings: false,
            statements: None,
            ..Default::default()
        };
        let enabled = Collector::enabled(&config, false);
        assert!(!enabled.contains(&Collector::Settings));
        assert!(!enabled.contains(&Collector::Statements));
        assert!(enabled.contains(&Collector::Database));
    }
}
