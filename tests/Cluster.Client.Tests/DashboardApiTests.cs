using Xunit;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Cluster.Grains;
using Cluster.Silo.Dashboard;

namespace Cluster.Client.Tests;

/// <summary>The dashboard's page and data over HTTP, checked against the grains' own answers.</summary>
[Collection("dashboard")]
public sealed class DashboardApiTests(DashboardFixture fixture)
{
    static async Task<JsonNode> Get(HttpClient http, string path)
    {
        using var response = await http.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!;
    }

    [Fact]
    public async Task The_page_and_its_two_files_come_from_the_silo_with_a_policy_that_allows_nothing_else()
    {
        using var http = fixture.Http(key: null);
        foreach (var (path, type) in new[] { ("/dashboard", "text/html"), ("/dashboard/dashboard.js", "text/javascript"), ("/dashboard/dashboard.css", "text/css") })
        {
            using var response = await http.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.StartsWith(type, response.Content.Headers.ContentType!.ToString());
            var policy = response.Headers.GetValues("Content-Security-Policy").Single();
            Assert.Contains("default-src 'none'", policy);
            Assert.Contains("script-src 'self'", policy);
        }
        var page = await http.GetStringAsync("/dashboard");
        Assert.DoesNotContain("http://", page.Replace("http://www.w3.org", ""));
        Assert.DoesNotContain("https://", page);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/dashboard/appsettings.json")).StatusCode);
        // The data needs the key; the page does not.
        using var refused = await http.GetAsync("/dashboard/api/jobs");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    [Fact]
    public async Task Jobs_show_the_grains_steps_and_pace_and_cancel_needs_the_dashboards_header()
    {
        const string id = "dashboard-api-job";
        var job = await fixture.StartLongJobAsync(id);
        try
        {
            using var http = fixture.Http();
            Assert.True(await Eventually.HoldsAsync(async () => (await job.GetStatus()).Step >= 3, TimeSpan.FromMinutes(3)), "the job made no steps");

            var listed = (await Get(http, "/dashboard/api/jobs")).AsArray().Single(j => (string)j!["id"]! == id)!;
            Assert.Equal("running", (string)listed["state"]!);
            Assert.True((double)listed["tokens_per_second"]! > 0);
            Assert.True((double)listed["eta_seconds"]! > 0);
            Assert.Equal(2, listed["workers"]!.AsArray().Count);

            // The curve is the job's own record, step for step, counted from 1.
            var curve = (await Get(http, $"/dashboard/api/jobs/{id}/steps?after=0"))["steps"]!.AsArray();
            var recorded = (await job.Progress(-1)).Steps;
            Assert.True(curve.Count >= 3);
            for (var i = 0; i < curve.Count; i++)
            {
                Assert.Equal(recorded[i].Step + 1, (long)curve[i]![0]!);
                Assert.Equal(recorded[i].Loss, (double)curve[i]![1]!);
            }
            var later = (await Get(http, $"/dashboard/api/jobs/{id}/steps?after={curve.Count}"))["steps"]!.AsArray();
            Assert.All(later, p => Assert.True((long)p![0]! > curve.Count));

            using var unknown = await http.GetAsync("/dashboard/api/jobs/no-such-job/steps");
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
            Assert.Contains("no-such-job", await unknown.Content.ReadAsStringAsync());

            using var forged = await http.PostAsync($"/dashboard/api/jobs/{id}/cancel", null);
            Assert.Equal(HttpStatusCode.Forbidden, forged.StatusCode);
            Assert.Contains(DashboardEndpoints.IntentHeader, await forged.Content.ReadAsStringAsync());
            Assert.Equal("running", (await job.GetStatus()).State);

            using var cancel = new HttpRequestMessage(HttpMethod.Post, $"/dashboard/api/jobs/{id}/cancel");
            cancel.Headers.Add(DashboardEndpoints.IntentHeader, "cancel");
            using var cancelled = await http.SendAsync(cancel);
            Assert.Equal(HttpStatusCode.OK, cancelled.StatusCode);
            Assert.True(await Eventually.HoldsAsync(async () => (await job.GetStatus()).State == "cancelled", TimeSpan.FromMinutes(3)), "the job was not cancelled");
        }
        finally { await job.Cancel(); }
    }

    [Fact]
    public async Task Members_show_each_silos_devices_and_models_show_each_replicas_latency()
    {
        using var http = fixture.Http();
        var cluster = await Get(http, "/dashboard/api/cluster");
        var members = cluster["members"]!.AsArray();
        var registry = await fixture.Cluster.GrainFactory.GetGrain<IDeviceRegistryGrain>(DeviceRegistry.Key).GetStatus();
        Assert.Equal(registry.Members.Select(m => m.Name).Order(), members.Select(m => (string)m!["name"]!).Order());
        Assert.All(members, m =>
        {
            Assert.Equal("Active", (string)m!["status"]!);
            Assert.Equal("cpu", (string)m["devices"]![0]!["device"]!);
            Assert.True((long)m["working_set_bytes"]! > 0);
        });

        const int requests = 12;
        for (var i = 0; i < requests; i++)
        {
            using var answer = await http.PostAsync("/v1/models/animals/kind",
                new StringContent(JsonSerializer.Serialize(new { inputs = $"the cat number {i}" }), Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        }
        var models = await Get(http, "/dashboard/api/models");
        Assert.Equal("animals", (string)models["default"]!);
        var replicas = models["models"]!.AsArray().Single()!["replicas"]!.AsArray();
        Assert.Equal(2, replicas.Count);
        Assert.Equal(members.Select(m => (string)m!["name"]!).Order(), replicas.Select(r => (string)r!["silo_name"]!).Order());
        var answered = replicas.Where(r => r!["latency"] is not null).ToList();
        Assert.NotEmpty(answered);
        Assert.True(answered.Sum(r => (long)r!["latency"]!["requests"]!) >= requests);
        Assert.All(answered, r =>
        {
            var (p50, p99) = ((double)r!["latency"]!["p50_seconds"]!, (double)r["latency"]!["p99_seconds"]!);
            Assert.True(p50 > 0 && p50 <= p99, $"p50 {p50}, p99 {p99}");
        });
    }
}
