//! Functions whose call does more than its statement shows. The grammar cannot see inside a
//! function; these built-in and extension functions are known, so a call adds their class to the
//! statement (a `SELECT pg_terminate_backend(...)` needs `admin`). Any other function is judged
//! by the statement that calls it; `deny_functions` refuses the ones an operator names.

use super::{ClassSet, FunctionRef, SqlClass};

/// (name, class), lowercase. A bare name is matched whatever schema the call names; a
/// `schema.name` entry (a name too common to match everywhere) only when the call names that
/// schema.
const FUNCTIONS: &[(&str, SqlClass)] = &[
    // Sessions, the server, replication and backups.
    ("pg_terminate_backend", SqlClass::Admin),
    ("pg_cancel_backend", SqlClass::Admin),
    ("pg_reload_conf", SqlClass::Admin),
    ("pg_rotate_logfile", SqlClass::Admin),
    ("pg_rotate_logfile_old", SqlClass::Admin),
    ("pg_stop_making_pinned_objects", SqlClass::Admin),
    ("pg_promote", SqlClass::Admin),
    ("pg_switch_wal", SqlClass::Admin),
    ("pg_create_restore_point", SqlClass::Admin),
    ("pg_backup_start", SqlClass::Admin),
    ("pg_backup_stop", SqlClass::Admin),
    ("pg_start_backup", SqlClass::Admin),
    ("pg_stop_backup", SqlClass::Admin),
    ("pg_wal_replay_pause", SqlClass::Admin),
    ("pg_wal_replay_resume", SqlClass::Admin),
    ("pg_log_backend_memory_contexts", SqlClass::Admin),
    ("pg_create_physical_replication_slot", SqlClass::Admin),
    ("pg_create_logical_replication_slot", SqlClass::Admin),
    ("pg_drop_replication_slot", SqlClass::Admin),
    ("pg_copy_physical_replication_slot", SqlClass::Admin),
    ("pg_copy_logical_replication_slot", SqlClass::Admin),
    ("pg_replication_slot_advance", SqlClass::Admin),
    ("pg_logical_slot_get_changes", SqlClass::Admin),
    ("pg_logical_slot_get_binary_changes", SqlClass::Admin),
    ("pg_logical_emit_message", SqlClass::Admin),
    ("pg_replication_origin_create", SqlClass::Admin),
    ("pg_replication_origin_drop", SqlClass::Admin),
    ("pg_stat_reset", SqlClass::Admin),
    ("pg_stat_reset_shared", SqlClass::Admin),
    ("pg_stat_reset_single_table_counters", SqlClass::Admin),
    ("pg_stat_reset_single_function_counters", SqlClass::Admin),
    ("pg_stat_statements_reset", SqlClass::Admin),
    ("pg_stat_reset_slru", SqlClass::Admin),
    ("pg_stat_reset_replication_slot", SqlClass::Admin),
    ("pg_stat_reset_subscription_stats", SqlClass::Admin),
    ("pg_stat_reset_backend_stats", SqlClass::Admin),
    ("pg_logical_slot_peek_changes", SqlClass::Admin),
    ("pg_logical_slot_peek_binary_changes", SqlClass::Admin),
    ("pg_replication_origin_advance", SqlClass::Admin),
    ("pg_replication_origin_session_setup", SqlClass::Admin),
    ("pg_replication_origin_session_reset", SqlClass::Admin),
    ("pg_replication_origin_xact_setup", SqlClass::Admin),
    ("pg_replication_origin_xact_reset", SqlClass::Admin),
    ("pg_sync_replication_slots", SqlClass::Admin),
    ("pg_log_standby_snapshot", SqlClass::Admin),
    ("pg_import_system_collations", SqlClass::Admin),
    // Index and statistics maintenance (what VACUUM and ANALYZE do).
    ("brin_summarize_new_values", SqlClass::Admin),
    ("brin_summarize_range", SqlClass::Admin),
    ("brin_desummarize_range", SqlClass::Admin),
    ("gin_clean_pending_list", SqlClass::Admin),
    ("pg_restore_relation_stats", SqlClass::Admin),
    ("pg_restore_attribute_stats", SqlClass::Admin),
    ("pg_clear_relation_stats", SqlClass::Admin),
    ("pg_clear_attribute_stats", SqlClass::Admin),
    // Settings (what SET does), notifications and locks (what NOTIFY and LOCK do).
    ("set_config", SqlClass::Admin),
    // Extensions' settings and session state: pg_trgm's similarity threshold, hypopg's
    // hypothetical indexes (what the planner chooses), plpgsql_check's profiler and tracer.
    ("set_limit", SqlClass::Admin),
    ("hypopg_create_index", SqlClass::Admin),
    ("hypopg_drop_index", SqlClass::Admin),
    ("hypopg_reset", SqlClass::Admin),
    ("hypopg_reset_index", SqlClass::Admin),
    ("hypopg_hide_index", SqlClass::Admin),
    ("hypopg_unhide_index", SqlClass::Admin),
    ("hypopg_unhide_all_indexes", SqlClass::Admin),
    ("plpgsql_check_profiler", SqlClass::Admin),
    ("plpgsql_check_tracer", SqlClass::Admin),
    ("plpgsql_profiler_reset", SqlClass::Admin),
    ("plpgsql_profiler_reset_all", SqlClass::Admin),
    ("plpgsql_profiler_install_fake_queryid_hook", SqlClass::Admin),
    ("plpgsql_profiler_remove_fake_queryid_hook", SqlClass::Admin),
    ("pg_notify", SqlClass::Admin),
    ("pg_advisory_lock", SqlClass::Admin),
    ("pg_advisory_lock_shared", SqlClass::Admin),
    ("pg_advisory_xact_lock", SqlClass::Admin),
    ("pg_advisory_xact_lock_shared", SqlClass::Admin),
    ("pg_try_advisory_lock", SqlClass::Admin),
    ("pg_try_advisory_lock_shared", SqlClass::Admin),
    ("pg_try_advisory_xact_lock", SqlClass::Admin),
    ("pg_try_advisory_xact_lock_shared", SqlClass::Admin),
    ("pg_advisory_unlock", SqlClass::Admin),
    ("pg_advisory_unlock_shared", SqlClass::Admin),
    ("pg_advisory_unlock_all", SqlClass::Admin),
    // The server's files.
    ("pg_read_file", SqlClass::Admin),
    ("pg_read_file_old", SqlClass::Admin),
    ("pg_read_binary_file", SqlClass::Admin),
    ("pg_ls_dir", SqlClass::Admin),
    ("pg_stat_file", SqlClass::Admin),
    ("pg_ls_logdir", SqlClass::Admin),
    ("pg_ls_waldir", SqlClass::Admin),
    ("pg_ls_tmpdir", SqlClass::Admin),
    ("pg_ls_archive_statusdir", SqlClass::Admin),
    ("pg_ls_logicalsnapdir", SqlClass::Admin),
    ("pg_ls_logicalmapdir", SqlClass::Admin),
    ("pg_ls_replslotdir", SqlClass::Admin),
    ("pg_ls_summariesdir", SqlClass::Admin),
    ("pg_file_write", SqlClass::Admin),
    ("pg_file_rename", SqlClass::Admin),
    ("pg_file_unlink", SqlClass::Admin),
    ("pg_file_sync", SqlClass::Admin),
    ("lo_import", SqlClass::Admin),
    ("lo_export", SqlClass::Admin),
    ("pg_logdir_ls", SqlClass::Admin),
    // The configuration files read and parsed: pg_hba.conf, pg_ident.conf, postgresql.conf and
    // the files it includes (behind the views of the same names and `pg_file_settings`).
    ("pg_hba_file_rules", SqlClass::Admin),
    ("pg_ident_file_mappings", SqlClass::Admin),
    ("pg_show_all_file_settings", SqlClass::Admin),
    // A relation's pages and the WAL, read by name: any schema's rows, whatever the statement
    // names (pageinspect, pg_walinspect); buffers and visibility maps changed (pg_buffercache,
    // pg_visibility); tuples killed or frozen in place (pg_surgery).
    ("get_raw_page", SqlClass::Admin),
    ("bt_page_items", SqlClass::Admin),
    ("pg_get_wal_records_info", SqlClass::Admin),
    ("pg_get_wal_records_info_till_end_of_wal", SqlClass::Admin),
    ("pg_get_wal_record_info", SqlClass::Admin),
    ("pg_get_wal_block_info", SqlClass::Admin),
    ("pg_get_wal_fpi_info", SqlClass::Admin),
    ("pg_get_wal_stats", SqlClass::Admin),
    ("pg_get_wal_stats_till_end_of_wal", SqlClass::Admin),
    ("pg_buffercache_evict", SqlClass::Admin),
    ("pg_buffercache_evict_relation", SqlClass::Admin),
    ("pg_buffercache_evict_all", SqlClass::Admin),
    ("pg_truncate_visibility_map", SqlClass::Admin),
    ("heap_force_freeze", SqlClass::Admin),
    ("heap_force_kill", SqlClass::Destroy),
    // Other servers: dblink, pgsql-http, pg_net (Supabase's `net.http_get`, ...).
    ("dblink", SqlClass::Admin),
    ("dblink_exec", SqlClass::Admin),
    ("dblink_connect", SqlClass::Admin),
    ("dblink_connect_u", SqlClass::Admin),
    ("dblink_send_query", SqlClass::Admin),
    ("dblink_open", SqlClass::Admin),
    ("dblink_fetch", SqlClass::Admin),
    ("http", SqlClass::Admin),
    ("http_get", SqlClass::Admin),
    ("http_post", SqlClass::Admin),
    ("http_put", SqlClass::Admin),
    ("http_patch", SqlClass::Admin),
    ("http_delete", SqlClass::Admin),
    ("http_head", SqlClass::Admin),
    ("http_collect_response", SqlClass::Admin),
    ("http_set_curlopt", SqlClass::Admin),
    ("http_reset_curlopt", SqlClass::Admin),
    // SQL run from a string or whole tables and schemas read by name: the grammar cannot see what.
    ("query_to_xml", SqlClass::Procedural),
    ("query_to_xmlschema", SqlClass::Procedural),
    ("query_to_xml_and_xmlschema", SqlClass::Procedural),
    ("cursor_to_xml", SqlClass::Procedural),
    ("cursor_to_xmlschema", SqlClass::Procedural),
    ("table_to_xml", SqlClass::Procedural),
    ("table_to_xmlschema", SqlClass::Procedural),
    ("table_to_xml_and_xmlschema", SqlClass::Procedural),
    ("schema_to_xml", SqlClass::Procedural),
    ("schema_to_xmlschema", SqlClass::Procedural),
    ("schema_to_xml_and_xmlschema", SqlClass::Procedural),
    ("database_to_xml", SqlClass::Procedural),
    ("database_to_xmlschema", SqlClass::Procedural),
    ("database_to_xml_and_xmlschema", SqlClass::Procedural),
    // Text search and tablefunc functions that run the query they are given.
    ("ts_stat", SqlClass::Procedural),
    ("ts_rewrite", SqlClass::Procedural),
    ("crosstab", SqlClass::Procedural),
    ("crosstab2", SqlClass::Procedural),
    ("crosstab3", SqlClass::Procedural),
    ("crosstab4", SqlClass::Procedural),
    ("connectby", SqlClass::Procedural),
    // xml2's xpath_table: a query built from its strings (a table's name, a WHERE clause).
    ("xpath_table", SqlClass::Procedural),
    // Supabase's index_advisor (a query in a string), pg_graphql (a GraphQL mutation writes) and
    // pg_cron (SQL run later, from a string).
    ("index_advisor", SqlClass::Procedural),
    ("graphql.resolve", SqlClass::Procedural),
    ("graphql._internal_resolve", SqlClass::Procedural),
    ("graphql_public.graphql", SqlClass::Procedural),
    ("cron.schedule", SqlClass::Procedural),
    ("schedule_in_database", SqlClass::Procedural),
    ("alter_job", SqlClass::Procedural),
    // pgTAP functions that run the SQL they are given.
    ("lives_ok", SqlClass::Procedural),
    ("throws_ok", SqlClass::Procedural),
    ("throws_like", SqlClass::Procedural),
    ("throws_ilike", SqlClass::Procedural),
    ("throws_matching", SqlClass::Procedural),
    ("throws_imatching", SqlClass::Procedural),
    ("performs_ok", SqlClass::Procedural),
    ("performs_within", SqlClass::Procedural),
    ("results_eq", SqlClass::Procedural),
    ("results_ne", SqlClass::Procedural),
    ("set_eq", SqlClass::Procedural),
    ("set_ne", SqlClass::Procedural),
    ("set_has", SqlClass::Procedural),
    ("set_hasnt", SqlClass::Procedural),
    ("bag_eq", SqlClass::Procedural),
    ("bag_ne", SqlClass::Procedural),
    ("bag_has", SqlClass::Procedural),
    ("bag_hasnt", SqlClass::Procedural),
    ("is_empty", SqlClass::Procedural),
    ("isnt_empty", SqlClass::Procedural),
    ("row_eq", SqlClass::Procedural),
    ("runtests", SqlClass::Procedural),
    ("do_tap", SqlClass::Procedural),
    // `cmp_ok`'s operator is spliced into the SQL it runs; pgTAP's internals (callable) run the
    // SQL, the tables or the functions they are given.
    ("cmp_ok", SqlClass::Procedural),
    ("_temptable", SqlClass::Procedural),
    ("_relcomp", SqlClass::Procedural),
    ("_docomp", SqlClass::Procedural),
    ("_runem", SqlClass::Procedural),
    ("_runner", SqlClass::Procedural),
    ("_time_trials", SqlClass::Procedural),
    ("_def_is", SqlClass::Procedural),
    // pg_tle: an extension's SQL, given as a string, runs when it is created.
    ("install_extension", SqlClass::Procedural),
    ("install_update_path", SqlClass::Procedural),
    ("install_extension_version_sql", SqlClass::Procedural),
    ("uninstall_extension", SqlClass::Destroy),
    ("uninstall_extension_if_exists", SqlClass::Destroy),
    // pg_tle's features: a function run at every login (`clientauth`) or password change
    // (`passcheck`), for every role.
    ("pgtle.register_feature", SqlClass::Admin),
    ("pgtle.register_feature_if_not_exists", SqlClass::Admin),
    ("pgtle.unregister_feature", SqlClass::Admin),
    ("pgtle.unregister_feature_if_exists", SqlClass::Admin),
    // pg_partman and TimescaleDB: partitions and chunks made, moved and dropped; pg_partman's
    // `reapply_privileges` grants a parent's privileges to its partitions again.
    ("create_parent", SqlClass::Ddl),
    ("run_maintenance", SqlClass::Ddl),
    ("create_hypertable", SqlClass::Ddl),
    ("partition_data_time", SqlClass::Write),
    ("partition_data_id", SqlClass::Write),
    ("create_partition_time", SqlClass::Ddl),
    ("create_partition_id", SqlClass::Ddl),
    ("create_sub_parent", SqlClass::Ddl),
    ("partition_gap_fill", SqlClass::Ddl),
    ("reapply_privileges", SqlClass::Privilege),
    // pg_partman's helpers: a child given its parent's grants, clustered, its constraints added
    // or dropped, its options and replica identity altered; partman's configuration written.
    ("apply_privileges", SqlClass::Privilege),
    ("apply_cluster", SqlClass::Admin),
    ("apply_constraints", SqlClass::Ddl),
    ("drop_constraints", SqlClass::Destroy),
    ("autovacuum_off", SqlClass::Ddl),
    ("autovacuum_reset", SqlClass::Ddl),
    ("inherit_replica_identity", SqlClass::Ddl),
    ("inherit_template_properties", SqlClass::Ddl),
    ("stop_sub_partition", SqlClass::Write),
    ("undo_partition", SqlClass::Destroy),
    ("drop_partition_time", SqlClass::Destroy),
    ("drop_partition_id", SqlClass::Destroy),
    ("drop_chunks", SqlClass::Destroy),
    ("compress_chunk", SqlClass::Ddl),
    ("decompress_chunk", SqlClass::Ddl),
    ("move_chunk", SqlClass::Ddl),
    ("reorder_chunk", SqlClass::Ddl),
    // TimescaleDB's background jobs: a procedure run later, chunks dropped or changed on a schedule.
    ("add_job", SqlClass::Procedural),
    ("delete_job", SqlClass::Write),
    ("add_retention_policy", SqlClass::Destroy),
    ("add_compression_policy", SqlClass::Ddl),
    ("add_columnstore_policy", SqlClass::Ddl),
    ("add_reorder_policy", SqlClass::Ddl),
    ("add_continuous_aggregate_policy", SqlClass::Ddl),
    // PostGIS functions that alter or drop the table (or topology schema) they are given, copy a
    // topology, or write its nodes, edges and faces.
    ("addgeometrycolumn", SqlClass::Ddl),
    ("updategeometrysrid", SqlClass::Ddl),
    ("populate_geometry_columns", SqlClass::Ddl),
    ("dropgeometrycolumn", SqlClass::Destroy),
    ("dropgeometrytable", SqlClass::Destroy),
    ("addrasterconstraints", SqlClass::Ddl),
    ("droprasterconstraints", SqlClass::Destroy),
    // Raster overviews made and constrained; the callable internals behind the constraint calls
    // (`_add_raster_constraint` runs the SQL it is given; the `_add_raster_constraint_*` and
    // `_drop_raster_constraint_*` families are in `CLASS_PREFIXES`).
    ("st_createoverview", SqlClass::Ddl),
    ("addoverviewconstraints", SqlClass::Ddl),
    ("dropoverviewconstraints", SqlClass::Destroy),
    ("_add_overview_constraint", SqlClass::Ddl),
    ("_drop_overview_constraint", SqlClass::Destroy),
    ("_add_raster_constraint", SqlClass::Procedural),
    ("_drop_raster_constraint", SqlClass::Destroy),
    ("createtopology", SqlClass::Ddl),
    ("addtopogeometrycolumn", SqlClass::Ddl),
    ("droptopology", SqlClass::Destroy),
    ("droptopogeometrycolumn", SqlClass::Destroy),
    ("copytopology", SqlClass::Ddl),
    ("renametopology", SqlClass::Ddl),
    ("totopogeom", SqlClass::Write),
    ("topogeo_addpoint", SqlClass::Write),
    ("topogeo_addlinestring", SqlClass::Write),
    ("topogeo_addpolygon", SqlClass::Write),
    // PostGIS's long transactions: a table, a view and a table's triggers made or dropped, rows
    // locked by a row written; and its upgrade (ALTER EXTENSION ... UPDATE).
    ("enablelongtransactions", SqlClass::Ddl),
    ("disablelongtransactions", SqlClass::Destroy),
    ("checkauth", SqlClass::Ddl),
    ("lockrow", SqlClass::Write),
    ("unlockrows", SqlClass::Write),
    ("addauth", SqlClass::Write),
    ("postgis_extensions_upgrade", SqlClass::Ddl),
    // postgis_topology's editors: the SQL/MM routines and the others that insert, update and
    // delete a topology's nodes, edges, faces and relations (the generic names only in the
    // `topology` schema, where the extension always lives); a topology schema made, a column
    // renamed; the database's `search_path` changed (`ALTER DATABASE ... SET`).
    ("st_addisonode", SqlClass::Write),
    ("st_addisoedge", SqlClass::Write),
    ("st_addedgenewfaces", SqlClass::Write),
    ("st_addedgemodface", SqlClass::Write),
    ("st_remedgenewface", SqlClass::Write),
    ("st_remedgemodface", SqlClass::Write),
    ("st_changeedgegeom", SqlClass::Write),
    ("st_modedgesplit", SqlClass::Write),
    ("st_newedgessplit", SqlClass::Write),
    ("st_modedgeheal", SqlClass::Write),
    ("st_newedgeheal", SqlClass::Write),
    ("st_moveisonode", SqlClass::Write),
    ("st_removeisonode", SqlClass::Write),
    ("st_remisonode", SqlClass::Write),
    ("st_removeisoedge", SqlClass::Write),
    ("st_createtopogeo", SqlClass::Write),
    ("topogeo_addgeometry", SqlClass::Write),
    ("topogeo_loadgeometry", SqlClass::Write),
    ("topogeom_addelement", SqlClass::Write),
    ("topogeom_remelement", SqlClass::Write),
    ("topogeom_addtopogeom", SqlClass::Write),
    ("cleartopogeom", SqlClass::Write),
    ("removeunusedprimitives", SqlClass::Write),
    ("maketopologyprecise", SqlClass::Write),
    ("populate_topology_layer", SqlClass::Write),
    ("fixcorrupttopogeometrycolumn", SqlClass::Write),
    ("_topogeo_addlinestringnoface", SqlClass::Write),
    ("_registermissingfaces", SqlClass::Write),
    ("topology.addnode", SqlClass::Write),
    ("topology.addedge", SqlClass::Write),
    ("topology.addface", SqlClass::Write),
    ("topology.polygonize", SqlClass::Write),
    ("st_inittopogeo", SqlClass::Ddl),
    ("renametopogeometrycolumn", SqlClass::Ddl),
    ("addtosearchpath", SqlClass::Admin),
    // pgsodium's keys (a row written) and masking views (made again).
    ("pgsodium.create_key", SqlClass::Write),
    ("pgsodium.update_mask", SqlClass::Ddl),
    ("pgsodium.update_masks", SqlClass::Ddl),
    ("pgsodium.create_mask_view", SqlClass::Ddl),
    // pgsodium's `mask_role` (SECURITY DEFINER) grants a role `pgsodium_keyholder`: every key.
    ("pgsodium.mask_role", SqlClass::Privilege),
    // Workers, statistics and an index engine's own commands: pg_net, pg_prewarm,
    // pg_stat_monitor, PGroonga.
    ("net.worker_restart", SqlClass::Admin),
    ("autoprewarm_start_worker", SqlClass::Admin),
    ("autoprewarm_dump_now", SqlClass::Admin),
    ("pg_stat_monitor_reset", SqlClass::Admin),
    ("pgroonga_command", SqlClass::Admin),
    // PGroonga's indexes made read-only, flushed, vacuumed, their WAL applied or truncated;
    // pg_prewarm's buffers filled (as pg_buffercache's are emptied).
    ("pgroonga_set_writable", SqlClass::Admin),
    ("pgroonga_flush", SqlClass::Admin),
    ("pgroonga_vacuum", SqlClass::Admin),
    ("pgroonga_wal_apply", SqlClass::Admin),
    ("pgroonga_wal_truncate", SqlClass::Admin),
    ("pgroonga_wal_set_applied_position", SqlClass::Admin),
    ("pg_prewarm", SqlClass::Admin),
    // Writes hidden in a read: sequences and large objects.
    ("nextval", SqlClass::Write),
    ("setval", SqlClass::Write),
    ("lo_create", SqlClass::Write),
    ("lo_creat", SqlClass::Write),
    ("lo_unlink", SqlClass::Write),
    ("lo_put", SqlClass::Write),
    ("lo_from_bytea", SqlClass::Write),
    ("lo_truncate", SqlClass::Write),
    ("lo_truncate64", SqlClass::Write),
    ("lowrite", SqlClass::Write),
    // Supabase Vault's secrets, pg_cron's jobs and pgmq's queues (Supabase Queues).
    ("create_secret", SqlClass::Write),
    ("update_secret", SqlClass::Write),
    ("unschedule", SqlClass::Write),
    ("pgmq.send", SqlClass::Write),
    ("pgmq.send_batch", SqlClass::Write),
    ("pgmq.read", SqlClass::Write),
    ("pgmq.read_with_poll", SqlClass::Write),
    ("pgmq.pop", SqlClass::Write),
    ("pgmq.delete", SqlClass::Write),
    ("pgmq.archive", SqlClass::Write),
    ("pgmq.set_vt", SqlClass::Write),
    ("pgmq.create", SqlClass::Ddl),
    ("pgmq.create_unlogged", SqlClass::Ddl),
    ("pgmq.create_partitioned", SqlClass::Ddl),
    ("pgmq.detach_archive", SqlClass::Ddl),
    ("pgmq.create_non_partitioned", SqlClass::Ddl),
    ("pgmq.convert_archive_partitioned", SqlClass::Ddl),
    ("pgmq.enable_notify_insert", SqlClass::Ddl),
    ("pgmq.attach_all", SqlClass::Ddl),
    ("pgmq.detach_all", SqlClass::Ddl),
    ("pgmq.create_fifo_index", SqlClass::Ddl),
    ("pgmq.create_fifo_indexes_all", SqlClass::Ddl),
    ("pgmq.disable_notify_insert", SqlClass::Destroy),
    ("pgmq.acquire_queue_lock", SqlClass::Admin),
    ("pgmq.read_grouped", SqlClass::Write),
    ("pgmq.read_grouped_with_poll", SqlClass::Write),
    ("pgmq.read_grouped_rr", SqlClass::Write),
    ("pgmq.read_grouped_rr_with_poll", SqlClass::Write),
    ("pgmq.read_grouped_head", SqlClass::Write),
    ("pgmq.read_grouped_head_with_poll", SqlClass::Write),
    ("pgmq.send_topic", SqlClass::Write),
    ("pgmq.send_batch_topic", SqlClass::Write),
    ("pgmq.bind_topic", SqlClass::Write),
    ("pgmq.unbind_topic", SqlClass::Write),
    ("pgmq.purge_queue", SqlClass::Destroy),
    ("pgmq.drop_queue", SqlClass::Destroy),
    ("pgmq_public.send", SqlClass::Write),
    ("pgmq_public.send_batch", SqlClass::Write),
    ("pgmq_public.read", SqlClass::Write),
    ("pgmq_public.pop", SqlClass::Write),
    ("pgmq_public.delete", SqlClass::Write),
    ("pgmq_public.archive", SqlClass::Write),
    // Supabase's database webhooks: a trigger of `http_request` sends each row to a URL (pg_net).
    ("supabase_functions.http_request", SqlClass::Admin),
    // Supabase Storage's prefix rows, written and deleted by SECURITY DEFINER functions, and the
    // advisory locks its triggers take; Supabase Realtime's broadcasts (a row of
    // realtime.messages, sent to every subscriber of its topic) and the changes of a replication
    // slot, consumed as `pg_logical_slot_get_changes` does.
    ("storage.add_prefixes", SqlClass::Write),
    ("storage.delete_prefix", SqlClass::Write),
    ("storage.delete_leaf_prefixes", SqlClass::Write),
    ("storage.lock_top_prefixes", SqlClass::Admin),
    ("realtime.send", SqlClass::Write),
    ("realtime.broadcast_changes", SqlClass::Write),
    ("realtime.list_changes", SqlClass::Admin),
];

/// Functions of the class above whose string arguments are SQL they run elsewhere (another
/// server, or this one through a new connection).
#[cfg_attr(not(feature = "sql"), allow(dead_code))]
const REMOTE_SQL: &[&str] = &["dblink", "dblink_exec", "dblink_send_query", "dblink_open"];

/// Functions named with this prefix run the SQL of their string arguments: pgRouting's
/// (`pgr_dijkstra('select id, source, target, cost from edges', ...)`).
const SQL_RUNNING_PREFIXES: &[&str] = &["pgr_"];

/// Every dblink function is `admin`: those not listed above act on a connection to another
/// server (`dblink_get_result`, `dblink_close`), or read a local row by a table's name given as a
/// string (`dblink_build_sql_insert('auth.sessions', ...)` returns an INSERT holding its values).
/// So is every reset of the statistics (`pg_stat_reset_*`, listed or added by a later release).
const ADMIN_PREFIXES: &[&str] = &["dblink", "pg_stat_reset"];

/// Families of functions named with these prefixes, and their class: PostGIS raster's constraint
/// internals (`_add_raster_constraint_srid`, `_drop_raster_constraint_extent`, ...).
const CLASS_PREFIXES: &[(&str, SqlClass)] =
    &[("_add_raster_constraint_", SqlClass::Ddl), ("_drop_raster_constraint_", SqlClass::Destroy)];

/// [`FUNCTIONS`] by name: (name, the schema an entry names, class), sorted by name, built once.
fn by_name() -> &'static [(&'static str, Option<&'static str>, SqlClass)] {
    static INDEX: std::sync::OnceLock<Vec<(&'static str, Option<&'static str>, SqlClass)>> = std::sync::OnceLock::new();
    INDEX.get_or_init(|| {
        let mut index: Vec<_> = FUNCTIONS
            .iter()
            .map(|&(entry, class)| match entry.split_once('.') {
                None => (entry, None, class),
                Some((schema, name)) => (name, Some(schema), class),
            })
            .collect();
        // Stable: of two entries for one name, the one listed first is found first.
        index.sort_by_key(|&(name, _, _)| name);
        index
    })
}

/// The class a call of this function (lowercase) adds, if it is a known one.
pub fn function_class(f: &FunctionRef) -> Option<SqlClass> {
    let index = by_name();
    let start = index.partition_point(|&(name, _, _)| name < f.name.as_str());
    index[start..]
        .iter()
        .take_while(|&&(name, _, _)| name == f.name)
        .find(|&&(_, schema, _)| schema.is_none() || schema == f.schema.as_deref())
        .map(|&(_, _, c)| c)
        .or_else(|| SQL_RUNNING_PREFIXES.iter().any(|p| f.name.starts_with(p)).then_some(SqlClass::Procedural))
        .or_else(|| ADMIN_PREFIXES.iter().any(|p| f.name.starts_with(p)).then_some(SqlClass::Admin))
        .or_else(|| CLASS_PREFIXES.iter().find(|(p, _)| f.name.starts_with(p)).map(|&(_, c)| c))
}

/// The schema of some known entry (`cron`, `graphql`, `pgmq`, ...) this one (lowercase) is, if any.
#[cfg_attr(not(feature = "sql"), allow(dead_code))]
pub fn known_schema(schema: &str) -> Option<&'static str> {
    FUNCTIONS.iter().find_map(|(entry, _)| entry.split_once('.').map(|(s, _)| s).filter(|s| *s == schema))
}

/// What a bare call of `name` (lowercase) may be where `search_path` leads to these schemas, or
/// to any (`any`): the classes of the known entries of that name in them, and whether one of
/// them runs SQL from its strings.
#[cfg_attr(not(feature = "sql"), allow(dead_code))]
pub fn on_path(name: &str, path: &[&str], any: bool) -> (ClassSet, bool) {
    let index = by_name();
    let start = index.partition_point(|&(n, _, _)| n < name);
    let (mut classes, mut runs_sql) = (ClassSet::EMPTY, false);
    for &(n, schema, c) in index[start..].iter().take_while(|&&(n, _, _)| n == name) {
        if let Some(s) = schema.filter(|s| any || path.contains(s)) {
            classes.insert(c);
            runs_sql |= runs_sql_strings(&FunctionRef { schema: Some(s.to_string()), name: n.to_string() });
        }
    }
    (classes, runs_sql)
}

/// What a bare call may be where a kept `search_path` leads to these schemas, or to any (`any`),
/// whatever its name: the classes of every known entry in them, and whether one of them runs SQL
/// from its strings.
#[cfg_attr(not(feature = "sql"), allow(dead_code))]
pub fn in_schemas(path: &[&str], any: bool) -> (ClassSet, bool) {
    let (mut classes, mut runs_sql) = (ClassSet::EMPTY, false);
    for &(entry, c) in FUNCTIONS {
        if let Some((schema, name)) = entry.split_once('.').filter(|(s, _)| any || path.contains(s)) {
            classes.insert(c);
            runs_sql |= runs_sql_strings(&FunctionRef { schema: Some(schema.to_string()), name: name.to_string() });
        }
    }
    (classes, runs_sql)
}

/// Whether a call runs SQL given in its string arguments (or reads tables they name): those
/// strings are then read as code, like a `DO` block's body, for schemas and calls.
#[cfg_attr(not(feature = "sql"), allow(dead_code))]
pub fn runs_sql_strings(f: &FunctionRef) -> bool {
    function_class(f) == Some(SqlClass::Procedural) || REMOTE_SQL.contains(&f.name.as_str())
}

/// Every known function and its class, for the docs and tests.
pub fn known() -> &'static [(&'static str, SqlClass)] {
    FUNCTIONS
}
