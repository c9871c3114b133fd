/* usage.c — a command's usage, printed from its row. */
#include "cli/cli.h"

void ad_cli_usage(FILE *f, const ad_cli_command *cmd)
{
    for (int i = 0; i < 3 && cmd->forms[i].what; i++) {
        char call[160];
        snprintf(call, sizeof call, "assetd %s%s%s", cmd->name, *cmd->forms[i].args ? " " : "", cmd->forms[i].args);
        fprintf(f, "%s %-44s %s\n", i == 0 ? "usage:" : "      ", call, cmd->forms[i].what);
    }
    if (cmd->options)
        cmd->options(f);
    if (cmd->more)
        fprintf(f, "%s\n", cmd->more);
}
