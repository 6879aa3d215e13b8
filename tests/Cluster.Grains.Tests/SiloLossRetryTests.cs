using Orleans.Runtime;
using Xunit;

namespace Cluster.Grains.Tests;

public class SiloLossRetryTests
{
    [Fact]
    public async Task A_rejection_after_a_silo_loss_is_retried_until_the_call_goes_through()
    {
        var calls = 0;
        var lease = await SiloLossRetry.CallAsync(() => ++calls < 3
            ? Task.FromException<string>(new SiloUnavailableException("the silo that held the registry is dead"))
            : Task.FromResult("lease"));
        Assert.Equal("lease", lease);
        Assert.Equal(3, calls);
    }

    [Fact]
    public async Task An_error_the_grain_threw_is_not_retried()
    {
        var calls = 0;
        var e = await Assert.ThrowsAsync<NoFreeDeviceException>(() => SiloLossRetry.CallAsync<string>(() =>
        {
            calls++;
            throw new NoFreeDeviceException("no free cpu device");
        }));
        Assert.Equal("no free cpu device", e.Message);
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task A_silo_that_stays_unreachable_ends_the_retries_with_its_rejection()
    {
        var calls = 0;
        await Assert.ThrowsAsync<SiloUnavailableException>(() => SiloLossRetry.CallAsync<string>(() =>
        {
            calls++;
            throw new SiloUnavailableException("silo S127.0.0.1:1 is dead");
        }, TimeSpan.FromSeconds(1)));
        Assert.InRange(calls, 2, 10);
    }
}
