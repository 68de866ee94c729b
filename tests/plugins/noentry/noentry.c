/* noentry.c — test plugin without the toolq_plugin_entry symbol; the host
 * must skip it. Compiled at run time by tests/unit/test_plugins.c. */
int toolq_plugin_entry_misspelled(void);

int toolq_plugin_entry_misspelled(void)
{
    return 0;
}
