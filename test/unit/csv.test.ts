import { describe, expect, it } from 'vitest';
import { csvField, parseCsv } from '../../src/lib/csv.ts';

describe('CSV', () => {
  it('reads records with their first line, across CRLF, LF and quoted line breaks, skipping blank lines', () => {
    expect(parseCsv('a@x.test,BOUNCE\r\n\r\n"b@x.test","COM""PLAINT"\n"multi\nline",z\nlast')).toEqual([
      { line: 1, fields: ['a@x.test', 'BOUNCE'] },
      { line: 3, fields: ['b@x.test', 'COM"PLAINT'] },
      { line: 4, fields: ['multi\nline', 'z'] },
      { line: 6, fields: ['last'] },
    ]);
    expect(parseCsv('')).toEqual([]);
    expect(parseCsv('\n\n')).toEqual([]);
    expect(parseCsv(',')).toEqual([{ line: 1, fields: ['', ''] }]);
  });

  it('names the line of a quoted field that is never closed', () => {
    expect(() => parseCsv('ok\n"open,\nstill')).toThrow('a quoted field that starts on line 2 is not closed');
  });

  it('quotes only the fields that need it, and reads them back', () => {
    const values = ['plain@x.test', 'a,b', 'say "hi"', 'two\nlines', ''];
    expect(values.map(csvField)).toEqual(['plain@x.test', '"a,b"', '"say ""hi"""', '"two\nlines"', '']);
    expect(parseCsv(values.map(csvField).join(','))[0]!.fields).toEqual(values);
  });
});
