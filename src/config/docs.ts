import { type Setting, type SettingType, settings } from './schema.ts';

/**
 * Renders `docs/configuration.md` from the settings schema, so the reference cannot drift from
 * what `loadConfig` accepts. `npm run docs:config` writes it; a convention test compares.
 *
 * @example
 *   writeFileSync('docs/configuration.md', renderConfigReference());
 */
export function renderConfigReference(): string {
  const all = settings as readonly Setting[];
  const lines = [
    '# Configuration',
    '',
    '<!-- Generated from src/config/schema.ts by `npm run docs:config`. Do not edit by hand. -->',
    '',
    'Every setting can be given on the command line, in the environment or in a config file.',
    'When a setting is given more than once, the first of these wins:',
    '',
    '1. a command-line flag of `herald serve` (with npm: `npm start -- --port 8080`);',
    '2. an environment variable (`HERALD_PORT=8080 npm start`);',
    '3. a JSON config file named by `--config <file>` or `HERALD_CONFIG`, whose keys are the',
    '   setting keys below (`{ "port": 8080, "retrySchedule": [5, 60, 600] }`);',
    '4. otherwise the default.',
    '',
    'An empty environment variable counts as unset. Herald checks every setting at start-up and,',
    'if any is wrong, lists all the problems at once and exits with status 2. Unknown keys in the',
    'config file are reported too, so a misspelt setting is never silently ignored.',
    '',
    '## Summary',
    '',
    ...markdownTable(
      ['Setting key', 'Environment variable', 'Flag', 'Default'],
      all.map((s) => [
        `[\`${s.key}\`](#${s.key.toLowerCase()})`,
        `\`${s.env}\``,
        `\`${s.flag}\``,
        formatDefault(s),
      ]),
    ),
    '',
    '## Settings',
    '',
  ];
  for (const s of all) {
    lines.push(
      `### ${s.key}`,
      '',
      `- Environment variable: \`${s.env}\``,
      `- Flag: \`${s.flag} <value>\``,
      `- Type: ${describeType(s.type)}`,
      `- Default: ${formatDefault(s)}`,
      '',
      s.doc,
      '',
    );
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

/** A table with padded columns, laid out as the project's formatter (biome) lays out Markdown. */
function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    `| ${widths.map((width, i) => (cells[i] ?? '').padEnd(width)).join(' | ')} |`;
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)];
}

function describeType(type: SettingType): string {
  switch (type.kind) {
    case 'integer':
      return `whole number from ${type.min} to ${type.max}`;
    case 'number':
      return `number from ${type.min} to ${type.max}`;
    case 'string':
      return 'text';
    case 'url':
      return 'an `http://` or `https://` URL (a trailing slash is dropped)';
    case 'enum':
      return `one of ${type.values.map((v) => `\`${v}\``).join(', ')}`;
    case 'seconds-list':
      return 'seconds, comma-separated in the environment or a flag (`5,300,1800`), a JSON array of numbers in the config file; each from 0 to 604800';
    case 'boolean':
      return '`true` or `false` (also `1`/`0`, `yes`/`no`, `on`/`off`)';
    case 'cidr-list':
      return 'CIDRs, comma-separated in the environment or a flag (`127.0.0.0/8,::1/128`), a JSON array of strings in the config file; a bare address means just that address';
  }
}

function formatDefault(setting: Setting): string {
  const value = setting.default;
  if (value === undefined) return 'none (unset)';
  if (Array.isArray(value)) return value.length === 0 ? 'none (empty)' : `\`${value.join(',')}\``;
  return `\`${String(value)}\``;
}
