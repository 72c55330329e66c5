using System.Buffers;
using System.Globalization;
using System.Text;

namespace PeerCredentials;

/// <summary>
/// Makes text that a peer controls (a request path, a header, the name of its executable) safe to put in
/// a log line. A terminal, <c>journalctl</c> or <c>docker logs</c> obeys control characters: ESC can
/// recolour or erase what is shown, CR and backspace can overwrite a line, a newline can start a fake one,
/// and Unicode's bidirectional overrides can reorder what a reader sees. Each of these is written as an
/// escape instead, such as <c>\x1B</c> or <c>\u202E</c>.
/// </summary>
public static class LogText
{
    // C0, DEL, C1; the backslash, so that an escape in the log always stands for an escaped character;
    // the line and paragraph separators; and every bidirectional formatting character: the marks, the
    // embeddings and overrides (U+202A..U+202E), the isolates (U+2066..U+2069).
    private static readonly SearchValues<char> Escaped = SearchValues.Create(
        "\0\u0001\u0002\u0003\u0004\u0005\u0006\u0007\b\t\n\u000B\f\r\u000E\u000F\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001A\u001B\u001C\u001D\u001E\u001F"
        + "\u007F\u0080\u0081\u0082\u0083\u0084\u0085\u0086\u0087\u0088\u0089\u008A\u008B\u008C\u008D\u008E\u008F\u0090\u0091\u0092\u0093\u0094\u0095\u0096\u0097\u0098\u0099\u009A\u009B\u009C\u009D\u009E\u009F"
        + "\\\u061C\u200E\u200F\u2028\u2029\u202A\u202B\u202C\u202D\u202E\u2066\u2067\u2068\u2069");

    /// <summary>
    /// Returns <paramref name="text"/> with every control character (C0, DEL, C1), line or paragraph
    /// separator and bidirectional formatting character written as <c>\xHH</c> or <c>\uHHHH</c>, and
    /// every backslash doubled; the text itself when there is nothing to escape.
    /// </summary>
    /// <param name="text">Text from a peer; <see langword="null"/> gives an empty string.</param>
    public static string Escape(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return string.Empty;
        }

        var first = text.AsSpan().IndexOfAny(Escaped);
        if (first < 0)
        {
            return text;
        }

        var escaped = new StringBuilder(text.Length + 16).Append(text, 0, first);
        foreach (var c in text.AsSpan(first))
        {
            if (!Escaped.Contains(c))
            {
                escaped.Append(c);
            }
            else if (c == '\\')
            {
                escaped.Append(@"\\");
            }
            else if (c <= '\u00FF')
            {
                escaped.Append(CultureInfo.InvariantCulture, $"\\x{(int)c:X2}");
            }
            else
            {
                escaped.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:X4}");
            }
        }

        return escaped.ToString();
    }
}
