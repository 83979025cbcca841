import { execFileSync } from 'node:child_process';
import { parseTaskList } from './src/domain/taskList.ts';
const markers = ['- ', '* ', '+ ', '1. ', '10) ', '-   ', '  - ', '   - ', '- Group\n  - ', '> - ', '- Group\n\n    1. '];
const fences = ['', ' ', '  ', '   ', '    ', '     ', '      ', '       ', '\t', '\t ', ' \t', '\t\t'];
let agree = 0, disagree = 0;
for (const m of markers) for (const f of fences) for (const blank of [false, true]) {
  const lines = m.split('\n');
  const last = lines.pop()!;
  const quote = last.startsWith('> ') ? '> ' : '';
  const md = [...lines, `${last}[ ] 2.1 Title`, ...(blank ? [quote] : []), `${quote}${f}\`\`\`sh`, `${quote}${f}echo hi`, `${quote}${f}\`\`\``, ''].join('\n');
  const html = execFileSync('cmark-gfm', ['-e', 'tasklist'], { input: md }).toString();
  // cmark: script iff a sh block appears inside the <li> that has the checkbox
  const li = html.indexOf('<input type="checkbox"');
  const code = html.indexOf('<code class="language-sh">');
  const liEnd = li < 0 ? -1 : html.indexOf('</li>', li);
  const cmark = li >= 0 && code > li && code < liEnd ? html.slice(code + 26, html.indexOf('</code>', code)) : null;
  let ours: string | null | undefined;
  try { const t = parseTaskList(md).tasks[0]; ours = t?.script?.code ?? null; } catch (e) { ours = 'ERR ' + (e as Error).message; }
  const ok = (cmark === null && ours === null) || (cmark !== null && ours !== null && cmark.replace(/&quot;/g, '"') === ours);
  if (ok) agree++; else { disagree++; console.log(JSON.stringify(md), 'cmark', JSON.stringify(cmark), 'ours', JSON.stringify(ours)); }
}
console.log({ agree, disagree });
