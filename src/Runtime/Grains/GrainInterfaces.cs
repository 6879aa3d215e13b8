namespace Cluster.Runtime;

/// <summary>Marker for grain interfaces. Every method returns Task, Task&lt;T&gt;, ValueTask or
/// ValueTask&lt;T&gt;; a CancellationToken parameter, if any, comes last and is not sent.</summary>
public interface IGrain;

/// <summary>A grain addressed by a string key.</summary>
public interface IGrainWithStringKey : IGrain;

/// <summary>A grain addressed by an integer key (carried as its decimal string).</summary>
public interface IGrainWithIntegerKey : IGrain;

/// <summary>Makes references to grains; calls on a reference activate the grain where placement says.</summary>
public interface IGrainFactory
{
    TGrain GetGrain<TGrain>(string key) where TGrain : IGrainWithStringKey;
    TGrain GetGrain<TGrain>(long key) where TGrain : IGrainWithIntegerKey;
}
