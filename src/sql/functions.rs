//! Functions whose call does more than its statement shows. The grammar cannot see inside a
//! function; these built-in and extension functions are known, so a call adds their class to the
//! statement (a `SELECT pg_terminate_backend(...)` needs `admin`). Any other function is judged
//! by the statement that calls it; `deny_functions` refuses the ones an operator names.

use super::SqlClass;

/// (name, class), lowercase, matched whatever schema the call names.
const FUNCTIONS: &[(&str, SqlClass)] = &[
    // Sessions, the server, replication and backups.
    ("pg_terminate_backend", SqlClass::Admin),
    ("pg_cancel_backend", SqlClass::Admin),
    ("pg_reload_conf", SqlClass::Admin),
    ("pg_rotate_logfile", SqlClass::Admin),
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
    ("pg_stat_statements_reset", SqlClass::Admin),
    ("pg_import_system_collations", SqlClass::Admin),
    // Settings (what SET does), notifications and locks (what NOTIFY and LOCK do).
    ("set_config", SqlClass::Admin),
    ("pg_notify", SqlClass::Admin),
    ("pg_advisory_lock", SqlClass::Admin),
    ("pg_advisory_lock_shared", SqlClass::Admin),
    ("pg_advisory_xact_lock", SqlClass::Admin),
    ("pg_advisory_xact_lock_shared", SqlClass::Admin),
    ("pg_try_advisory_lock", SqlClass::Admin),
    ("pg_try_advisory_lock_shared", SqlClass::Admin),
    ("pg_try_advisory_xact_lock", SqlClass::Admin),
    ("pg_try_advisory_xact_lock_shared", SqlClass::Admin),
    // The server's files.
    ("pg_read_file", SqlClass::Admin),
    ("pg_read_binary_file", SqlClass::Admin),
    ("pg_ls_dir", SqlClass::Admin),
    ("pg_stat_file", SqlClass::Admin),
    ("pg_ls_logdir", SqlClass::Admin),
    ("pg_ls_waldir", SqlClass::Admin),
    ("pg_ls_tmpdir", SqlClass::Admin),
    ("pg_ls_archive_statusdir", SqlClass::Admin),
    ("pg_file_write", SqlClass::Admin),
    ("pg_file_rename", SqlClass::Admin),
    ("pg_file_unlink", SqlClass::Admin),
    ("pg_file_sync", SqlClass::Admin),
    ("lo_import", SqlClass::Admin),
    ("lo_export", SqlClass::Admin),
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
];

/// The class a call of this function (lowercase, without its schema) adds, if it is a known one.
pub fn function_class(name: &str) -> Option<SqlClass> {
    FUNCTIONS.iter().find(|(n, _)| *n == name).map(|&(_, c)| c)
}

/// Every known function and its class, for the docs and tests.
pub fn known() -> &'static [(&'static str, SqlClass)] {
    FUNCTIONS
}
