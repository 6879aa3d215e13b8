namespace Cluster.Testing;

public static class Eventually
{
    /// <summary>Polls <paramref name="condition"/> until it holds or <paramref name="timeout"/> passes: a hang guard, not a
    /// speed test. An exception counts as "not yet" until the deadline (a silo that is still starting, a call to a dead one).</summary>
    public static async Task<bool> HoldsAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                if (await condition()) return true;
            }
            catch (Exception) when (DateTime.UtcNow <= deadline) { }
            if (DateTime.UtcNow > deadline) return false;
            await Task.Delay(50);
        }
    }
}
