namespace Cluster.Torch;

/// <summary>
/// Owns every tensor created on this thread while it is the innermost open scope, and frees them
/// when it ends, except those moved out (<see cref="Tensor.MoveToOuterDisposeScope"/>) or detached
/// (<see cref="Tensor.DetachFromDisposeScope"/>). Scopes nest; a training step and an inference batch
/// each run inside one.
/// </summary>
public sealed class DisposeScope : IDisposable
{
    [ThreadStatic] private static DisposeScope? current;

    private readonly List<Tensor> owned = new();
    private readonly DisposeScope? outer;
    private readonly int threadId = Environment.CurrentManagedThreadId;
    private bool disposed;

    internal DisposeScope()
    {
        outer = current;
        current = this;
    }

    internal static DisposeScope? Current => current;

    internal DisposeScope? Outer => outer;

    /// <summary>How many tensors this scope still owns.</summary>
    public int Count => owned.Count(t => t.OwningScope == this);

    /// <summary>
    /// Keeps <paramref name="tensor"/> alive past this scope by handing it to the enclosing one, if this
    /// scope owns it; a tensor owned elsewhere (an input passed through) is left where it is.
    /// </summary>
    public Tensor? MoveToOuter(Tensor? tensor)
    {
        if (tensor is not null && tensor.OwningScope == this)
        {
            tensor.OwningScope = null;
            outer?.Attach(tensor);
        }
        return tensor;
    }

    internal void Attach(Tensor tensor)
    {
        tensor.OwningScope = this;
        owned.Add(tensor);
    }

    public void Dispose()
    {
        if (disposed) return;
        if (current != this)
            throw new InvalidOperationException(
                threadId != Environment.CurrentManagedThreadId
                    ? "a DisposeScope must end on the thread that opened it"
                    : "DisposeScopes must end innermost first");
        disposed = true;
        current = outer;
        foreach (var t in owned)
            if (t.OwningScope == this) t.Dispose();
        owned.Clear();
    }
}
