using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.Repositories;

namespace EchoApi;

/// <summary>
/// Data protection's key store, kept in memory. Nothing in this service protects data, but the
/// authentication stack registers data protection, whose hosted service loads (and so creates) a key
/// ring at start: without a store of its own that key is written to <c>~/.aspnet/DataProtection-Keys</c>,
/// outside the socket directory.
/// </summary>
internal sealed class InMemoryXmlRepository : IXmlRepository
{
    private readonly List<XElement> _elements = [];

    public IReadOnlyCollection<XElement> GetAllElements()
    {
        lock (_elements)
        {
            return [.. _elements.Select(element => new XElement(element))];
        }
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        lock (_elements)
        {
            _elements.Add(new XElement(element));
        }
    }
}
