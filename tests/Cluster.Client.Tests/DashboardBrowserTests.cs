using Xunit;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace Cluster.Client.Tests;

/// <summary>A test that drives Debian's chromium (scripts/test.sh installs it); skipped, with the reason, where it is absent.</summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public static string Executable => Environment.GetEnvironmentVariable("CLUSTER_CHROMIUM") ?? "/usr/bin/chromium";

    public ChromiumFactAttribute()
    {
        if (!File.Exists(Executable))
            Skip = $"no Chromium at {Executable} (Debian: apt-get install chromium, as scripts/test.sh does; or set CLUSTER_CHROMIUM)";
    }
}

/// <summary>The dashboard in a real browser against the in-process cluster: a running job's curve grows, the members and
/// models views show what the grains say, and the cancel button asks first and then cancels. Each view is saved as a
/// screenshot under artifacts/dashboard/ for a person to look at.</summary>
[Collection("dashboard")]
public sealed class DashboardBrowserTests(DashboardFixture fixture, ITestOutputHelper output)
{
    static readonly string Screenshots = Path.Combine(Repository.Root, "artifacts", "dashboard");
    static readonly TimeSpan Patience = TimeSpan.FromMinutes(3); // a hang guard: CI machines get loaded

    [ChromiumFact]
    public async Task A_running_jobs_curve_grows_and_the_job_is_cancelled_after_confirmation()
    {
        const string id = "dashboard-browser-job";
        var job = await fixture.StartLongJobAsync(id);
        try
        {
            Directory.CreateDirectory(Screenshots);
            using var playwright = await Playwright.CreateAsync();
            await using var browser = await playwright.Chromium.LaunchAsync(new()
            {
                ExecutablePath = ChromiumFactAttribute.Executable, Headless = true,
                Args = ["--no-sandbox", "--disable-dev-shm-usage"], // root in a container; a small /dev/shm
            });
            var page = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 1280, Height = 900 } });
            page.SetDefaultTimeout((float)Patience.TotalMilliseconds);
            var origin = fixture.Cluster.HttpUrls[0];
            var problems = new List<string>();
            var keyGiven = false;
            // The browser logs each failed response too: those are checked below, by status.
            page.Console += (_, m) => { if (m.Type == "error" && !m.Text.StartsWith("Failed to load resource", StringComparison.Ordinal)) problems.Add($"console: {m.Text}"); };
            page.Response += (_, r) => { if (r.Status >= 400 && !(r.Status == 401 && !keyGiven)) problems.Add($"{r.Status} from {r.Url}"); };
            page.PageError += (_, e) => problems.Add($"script: {e}");
            page.Request += (_, r) => { if (!r.Url.StartsWith(origin, StringComparison.Ordinal)) problems.Add($"a request left the silo: {r.Url}"); };

            // The data needs the key: the page asks for it.
            await page.GotoAsync(origin + "/dashboard#jobs");
            await page.Locator("#key-form").WaitForAsync();
            await page.FillAsync("#key", DashboardFixture.Key);
            keyGiven = true;
            await page.ClickAsync("#key-form button[type=submit]");

            // The job's curve grows while it runs.
            var card = page.Locator($"article[data-job='{id}']");
            var curve = card.Locator("svg.curve");
            var first = await PointsAsync(curve, atLeast: 2);
            var grown = await PointsAsync(curve, atLeast: first + 3);
            output.WriteLine($"curve points: {first}, then {grown}");
            Assert.Equal("running", await card.GetAttributeAsync("data-state"));
            Assert.NotEqual("–", await card.Locator(".stats span:nth-child(3) b").TextContentAsync()); // tokens/s
            await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, "jobs.png"), FullPage = true });

            await page.ClickAsync("nav a[data-view=members]");
            await page.Locator("#member-rows tr").Nth(1).WaitForAsync();
            Assert.Equal(2, await page.Locator("#member-rows tr").CountAsync());
            // Both CPUs are held by the job's two workers.
            await Assertions.Expect(page.Locator("#member-rows [data-device]", new() { HasText = id })).ToHaveCountAsync(2);
            await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, "members.png"), FullPage = true });

            using (var http = fixture.Http())
                for (var i = 0; i < 6; i++)
                    (await http.PostAsync("/v1/models/animals/kind", new StringContent($"{{\"inputs\": \"a dog {i}\"}}", System.Text.Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode();
            await page.ClickAsync("nav a[data-view=models]");
            var replicas = page.Locator("article[data-model=animals] tbody tr");
            await Assertions.Expect(replicas).ToHaveCountAsync(2);
            await Assertions.Expect(page.Locator("article[data-model=animals] td", new() { HasTextRegex = new("^\\d+\\.\\d ms$") }).First).ToBeVisibleAsync();
            await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, "models.png"), FullPage = true });

            // Cancel asks first; "keep running" keeps it running.
            await page.ClickAsync("nav a[data-view=jobs]");
            await card.Locator("button[data-cancel]").ClickAsync();
            var dialog = page.Locator("#confirm-cancel");
            await Assertions.Expect(dialog).ToBeVisibleAsync();
            await Assertions.Expect(dialog).ToContainTextAsync(id);
            await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, "cancel-confirmation.png") });
            await page.ClickAsync("#keep-running");
            await Assertions.Expect(dialog).ToBeHiddenAsync();
            await PointsAsync(curve, atLeast: grown + 1);
            Assert.Equal("running", (await job.GetStatus()).State);

            await card.Locator("button[data-cancel]").ClickAsync();
            await page.ClickAsync("#confirm-cancel-button");
            await Assertions.Expect(card).ToHaveAttributeAsync("data-state", "cancelled", new() { Timeout = (float)Patience.TotalMilliseconds });
            Assert.Equal("cancelled", (await job.GetStatus()).State);
            await Assertions.Expect(card.Locator("button[data-cancel]")).ToBeHiddenAsync();
            await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, "jobs-cancelled.png"), FullPage = true });

            Assert.Empty(problems);
        }
        finally { await job.Cancel(); }
    }

    /// <summary>Waits until the curve has drawn at least <paramref name="atLeast"/> points and says how many it has.</summary>
    static async Task<int> PointsAsync(ILocator curve, int atLeast)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            var points = int.Parse(await curve.GetAttributeAsync("data-points") ?? "0");
            if (points >= atLeast) return points;
            Assert.True(DateTime.UtcNow < deadline, $"the curve stayed at {points} points (waited for {atLeast})");
            await Task.Delay(200);
        }
    }
}
