using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Cluster.Torch.Native;

/// <summary>
/// Finds libclustertorch: the path in CLUSTER_TORCH_NATIVE when set (a CUDA build, say),
/// otherwise the copy the build placed beside the assemblies.
/// </summary>
internal static class NativeLoader
{
    internal const string PathVariable = "CLUSTER_TORCH_NATIVE";

    // A module initializer, because the resolver must be in place before this assembly's first P/Invoke.
#pragma warning disable CA2255
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Register() => NativeLibrary.SetDllImportResolver(typeof(NativeLoader).Assembly, Resolve);

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name != LibTorch.Library) return IntPtr.Zero;
        var overridePath = Environment.GetEnvironmentVariable(PathVariable);
        if (!string.IsNullOrEmpty(overridePath))
        {
            if (!File.Exists(overridePath))
                throw new DllNotFoundException($"{PathVariable}={overridePath}: no such file");
            return NativeLibrary.Load(overridePath);
        }
        foreach (var dir in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(assembly.Location) })
        {
            if (string.IsNullOrEmpty(dir)) continue;
            var candidate = Path.Combine(dir, "libclustertorch.so");
            if (File.Exists(candidate)) return NativeLibrary.Load(candidate);
        }
        throw new DllNotFoundException(
            $"libclustertorch.so is neither beside the assemblies ({AppContext.BaseDirectory}) nor named by {PathVariable}; " +
            "build it with `dotnet build` (needs libtorch-dev and cmake) or point the variable at a build");
    }
}
