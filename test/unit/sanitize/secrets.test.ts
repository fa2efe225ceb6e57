import { describe, expect, it } from 'vitest';
import { redactSecrets } from '../../../src/sanitize/secrets.js';

describe('redactSecrets', () => {
  it.each([
    ['URL user:password', 'GET https://bob:hunter2@files.example.com/a', 'GET https://[redacted:url_credentials]@files.example.com/a', ['url_credentials']],
    ['?password=', 'https://x.example/login?user=a&password=s3cret&x=1', 'https://x.example/login?user=a&password=[redacted:credential_param]&x=1', ['credential_param']],
    ['pwd= passwd=', '/cgi?pwd=abc&passwd=def', '/cgi?pwd=[redacted:credential_param]&passwd=[redacted:credential_param]', ['credential_param']],
    ['token/api_key/apikey/access_token', '?token=t1&api_key=k1&apikey=k2&access_token=a1', '?token=[redacted:credential_param]&api_key=[redacted:credential_param]&apikey=[redacted:credential_param]&access_token=[redacted:credential_param]', ['credential_param']],
    ['secret/auth/key in query', '/x?secret=s&auth=a&key=k', '/x?secret=[redacted:credential_param]&auth=[redacted:credential_param]&key=[redacted:credential_param]', ['credential_param']],
    ['JSON password', '{"password": "hunter2"}', '{"password": "[redacted:credential_param]"}', ['credential_param']],
    ['Bearer', 'Authorization: Bearer abc.DEF-123_xyz', 'Authorization: Bearer [redacted:bearer]', ['bearer']],
    ['Basic', 'Authorization: Basic dXNlcjpwYXNzd29yZA==', 'Authorization: Basic [redacted:basic_auth]', ['basic_auth']],
    ['JWT', 'cookie eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl end', 'cookie [redacted:jwt] end', ['jwt']],
    ['AWS access key', 'key id AKIAIOSFODNN7EXAMPLE used', 'key id [redacted:aws_access_key] used', ['aws_access_key']],
    ['GitHub token', 'ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789 leaked', '[redacted:github_token] leaked', ['github_token']],
    ['Slack token', 'xoxb-1234567890-abcdefghij', '[redacted:slack_token]', ['slack_token']],
    ['Google API key', 'AIzaSyA1234567890abcdefghijklmnopqrstuv', '[redacted:google_api_key]', ['google_api_key']],
    ['generic key: hex', 'api-key: 9f86d081884c7d659a2feaa0c55ad015', 'api-key: [redacted:credential_param]', ['credential_param']],
    ['e-mail', 'mail from alice.smith+x@mail.example.co.uk.', 'mail from [redacted:email].', ['email']],
    ['card with spaces (Luhn valid)', 'pan 4111 1111 1111 1111 ok', 'pan [redacted:card_number] ok', ['card_number']],
    ['card with dashes (Luhn valid)', 'pan 5500-0000-0000-0004', 'pan [redacted:card_number]', ['card_number']],
    ['card plain (Luhn valid)', 'n=378282246310005', 'n=[redacted:card_number]', ['card_number']],
  ])('%s', (_name, input, expected, kinds) => {
    expect(redactSecrets(input)).toEqual({ text: expected, kinds });
  });

  it.each([
    ['Luhn-invalid 16 digits', 'pan 4111 1111 1111 1112'],
    ['too short', 'id 411111111111'],
    ['nanosecond eventtime-like but Luhn invalid', 'eventtime=1715000000123456780'],
    ['normal URL', 'https://www.example.com/search?q=fortigate&page=2'],
    ['FortiGate msg', 'User admin login successfully from ssh(10.0.0.1)'],
    ['reason code', 'passwd_invalid'],
    ['auth in prose', 'auth: failed for user bob'],
    ['key word in prose', 'key: value'],
    ['monkey= is not key=', 'monkey=banana'],
    ['Basic in prose', 'Basic authentication required'],
    ['at sign without domain', 'user@localhost tried'],
  ])('leaves alone: %s', (_name, input) => {
    expect(redactSecrets(input)).toEqual({ text: input, kinds: [] });
  });

  it('finds a card number inside a longer digit sequence of groups', () => {
    expect(redactSecrets('ref 100 4111 1111 1111 1111').text).toBe('ref 100 [redacted:card_number]');
  });

  it('is linear on adversarial input', () => {
    for (const input of ['a'.repeat(60_000), `${'a.'.repeat(30_000)}@`, 'http://'.repeat(8_000), '1 '.repeat(30_000), 'password='.repeat(6_000)]) {
      const started = performance.now();
      redactSecrets(input);
      expect(performance.now() - started).toBeLessThan(2_000);
    }
  });
});
