import { execFileSync } from 'node:child_process';
const cases: Array<[string, string, boolean]> = [];
for (const [m, fences] of [['- ', ['', '  ', '   ', '    ', '      ', '\t']], ['1. ', ['  ', '   ', '    ', '      ', '       ']], ['- Group\n  - ', ['  ', '    ', '      ', '\t\t']], ['  * ', ['  ', '    ', '     ', '      ']], ['+ ', ['  ', '    ']]] as const) {
  for (const f of fences) for (const blank of [false, true]) {
    const lines = m.split('\n'); const last = lines.pop()!;
    const md = [...lines, `${last}[ ] 2.1 Title`, ...(blank ? [''] : []), `${f}\`\`\`sh`, `${f}echo hi`, `${f}\`\`\``, ''].join('\n');
    const html = execFileSync('cmark-gfm', ['-e', 'tasklist'], { input: md }).toString();
    const li = html.indexOf('<input type="checkbox"'); const code = html.indexOf('language-sh'); const liEnd = html.indexOf('</li>', li);
    console.log(JSON.stringify([m, f, blank, li >= 0 && code > li && code < liEnd]) + ',');
  }
}
