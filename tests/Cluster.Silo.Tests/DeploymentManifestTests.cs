using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Text.RegularExpressions;
using Cluster.Grains;
using Cluster.Serving;
using Orleans.Hosting.Kubernetes;
using static Cluster.Silo.Tests.Kustomize;

namespace Cluster.Silo.Tests;

/// <summary>
/// deploy/k8s as each overlay builds it, checked against the code it deploys: ports, probe paths and environment
/// variables against the silo's own settings and constants, the Role against what Orleans' Kubernetes hosting calls,
/// selectors against labels, and resources, GPUs, storage and exposure as a production deployment needs them.
/// </summary>
public sealed class DeploymentManifestTests
{
    public static TheoryData<string> Overlays => new() { "cpu", "gpu" };

    static List<Dictionary<string, object?>> Overlay(string name) => Build(Path.Combine(Root, "overlays", name));

    static Dictionary<string, object?> Silo(List<Dictionary<string, object?>> objects) =>
        objects.Single(o => Kind(o) == "StatefulSet" && Name(o) == "cluster-silo");

    static Dictionary<string, object?> SiloContainer(List<Dictionary<string, object?>> objects) => Containers(Silo(objects)).Single(c => (string?)c["name"] == "silo");

    static Dictionary<string, object?> Pretrain() => Documents(Path.Combine(Root, "jobs", "pretrain.yaml")).Single();

    [Fact]
    public void Every_manifest_parses_and_every_kustomization_names_files_that_exist()
    {
        var files = Directory.GetFiles(Root, "*.yaml", SearchOption.AllDirectories);
        Assert.True(files.Length >= 10, $"only {files.Length} manifests under {Root}");
        foreach (var file in files)
        {
            var docs = Documents(file);
            Assert.NotEmpty(docs);
            Assert.All(docs, d => Assert.False(string.IsNullOrEmpty(Kind(d)), $"{file}: a document without kind"));
        }
        foreach (var overlay in new[] { "cpu", "gpu" }) Assert.True(Overlay(overlay).Count >= 14, $"overlay {overlay} built too few objects");
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Every_service_selects_pods_that_carry_its_labels(string overlay)
    {
        var objects = Overlay(overlay);
        var podLabels = objects.Select(PodTemplate).OfType<Dictionary<string, object?>>().Append(PodTemplate(Pretrain())!)
            .Select(t => Map(t, "metadata", "labels")).ToList();
        foreach (var service in objects.Where(o => Kind(o) == "Service"))
        {
            var selector = Map(service, "spec", "selector");
            Assert.NotEmpty(selector);
            Assert.True(podLabels.Any(labels => selector.All(kv => Equals(labels.GetValueOrDefault(kv.Key), kv.Value))),
                $"Service {Name(service)} selects no pod template");
        }
        foreach (var selecting in objects.Where(o => Kind(o) is "StatefulSet" or "PodDisruptionBudget"))
        {
            var match = Map(selecting, "spec", "selector", "matchLabels");
            Assert.True(podLabels.Any(labels => match.All(kv => Equals(labels.GetValueOrDefault(kv.Key), kv.Value))), $"{Kind(selecting)} {Name(selecting)}");
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Ports_and_probes_are_the_silos_own(string overlay)
    {
        var objects = Overlay(overlay);
        var silo = SiloContainer(objects);
        var defaults = new SiloSettings();
        var ports = List(silo, "ports").ToDictionary(p => (string)p["name"]!, p => int.Parse((string)p["containerPort"]!));
        Assert.Equal(new Dictionary<string, int>
        {
            ["silo"] = defaults.SiloPort, ["gateway"] = defaults.GatewayPort, ["http"] = defaults.HttpPort, ["bulk"] = defaults.BulkPort,
        }, ports);
        foreach (var (probe, path) in new[] { ("startupProbe", HealthEndpoints.ReadyPath), ("readinessProbe", HealthEndpoints.ReadyPath), ("livenessProbe", HealthEndpoints.HealthPath) })
        {
            var get = Map(silo, probe, "httpGet");
            Assert.Equal(path, get["path"]);
            Assert.Equal("http", get["port"]);
        }
        Assert.Equal(HealthEndpoints.MetricsPath, Map(PodTemplate(Silo(objects))!, "metadata", "annotations")["prometheus.io/path"]);
        Assert.Equal(defaults.HttpPort.ToString(), Map(PodTemplate(Silo(objects))!, "metadata", "annotations")["prometheus.io/port"]);
        // The headless Service publishes the same ports under the same names.
        var headless = objects.Single(o => Kind(o) == "Service" && Map(o, "spec").GetValueOrDefault("clusterIP") as string == "None");
        Assert.Equal(ports.Keys.Order(), List(Map(headless, "spec"), "ports").Select(p => (string)p["targetPort"]!).Order());
        Assert.Equal("cluster-silo", Map(Silo(objects), "spec")["serviceName"]);
        Assert.Equal(Name(headless), Map(Silo(objects), "spec")["serviceName"]);
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Environment_variables_are_ones_the_silo_or_orleans_reads(string overlay)
    {
        var env = List(SiloContainer(Overlay(overlay)), "env").ToList();
        var names = env.Select(e => (string)e["name"]!).ToList();
        string[] hosting =
        [
            KubernetesHostingOptions.PodNameEnvironmentVariable, KubernetesHostingOptions.PodNamespaceEnvironmentVariable,
            KubernetesHostingOptions.PodIPEnvironmentVariable, KubernetesHostingOptions.ServiceIdEnvironmentVariable,
            KubernetesHostingOptions.ClusterIdEnvironmentVariable,
        ];
        var referenced = env.Select(e => e.GetValueOrDefault("value") as string ?? "")
            .SelectMany(v => Regex.Matches(v, @"\$\(([A-Z_]+)\)").Select(m => m.Groups[1].Value)).ToHashSet();
        foreach (var name in names)
            Assert.True(SiloConfiguration.EnvironmentVariables.Contains(name) || hosting.Contains(name) || referenced.Contains(name),
                $"{name} is read by neither the silo nor Orleans' Kubernetes hosting, and no other variable refers to it");
        Assert.Equal(names.Count, names.Distinct().Count());
        // What Kubernetes hosting needs, and what the silo's start check asks for (Kubernetes itself sets KUBERNETES_SERVICE_HOST).
        Assert.All(hosting, n => Assert.Contains(n, names));
        Assert.Equal("true", env.Single(e => (string)e["name"]! == "CLUSTER_KUBERNETES")["value"]);
        // A reference is to a variable defined before it, as Kubernetes requires for $(NAME) to expand.
        foreach (var (e, i) in env.Select((e, i) => (e, i)))
            foreach (Match m in Regex.Matches(e.GetValueOrDefault("value") as string ?? "", @"\$\(([A-Z_]+)\)"))
                Assert.True(names.IndexOf(m.Groups[1].Value) is >= 0 and var at && at < i, $"{e["name"]} refers to {m.Groups[1].Value} before it is defined");
        // The membership setting parses as the silo would read it.
        var membership = ((string)env.Single(e => (string)e["name"]! == "CLUSTER_MEMBERSHIP")["value"]!).Replace("$(POSTGRES_PASSWORD)", "secret");
        Assert.Equal(MembershipKind.Postgres, MembershipSetting.Parse(membership).Kind);
        // Orleans reads the ids from these labels on the pod.
        var labels = Map(PodTemplate(Silo(Overlay(overlay)))!, "metadata", "labels");
        Assert.True(labels.ContainsKey(KubernetesHostingOptions.ServiceIdLabel) && labels.ContainsKey(KubernetesHostingOptions.ClusterIdLabel));
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Every_container_has_resource_requests_and_limits(string overlay)
    {
        foreach (var o in Overlay(overlay).Append(Pretrain()))
            foreach (var c in Containers(o))
            {
                var resources = Map(c, "resources");
                foreach (var part in new[] { "requests", "limits" })
                {
                    var r = Map(resources, part);
                    Assert.True(r.ContainsKey("cpu") && r.ContainsKey("memory"), $"{Kind(o)} {Name(o)} container {c["name"]} lacks {part}");
                }
            }
    }

    [Fact]
    public void The_gpu_overlay_requests_gpus_and_advertises_all_it_is_given()
    {
        var gpu = SiloContainer(Overlay("gpu"));
        Assert.True(int.Parse((string)Map(gpu, "resources", "limits")["nvidia.com/gpu"]!) >= 1);
        Assert.Equal(DeviceName.AllCuda, List(gpu, "env").Single(e => (string)e["name"]! == "CLUSTER_DEVICES")["value"]);
        Assert.Equal(["cuda:0", "cuda:1", "cpu"], DeviceName.ExpandAllCuda(DeviceName.ParseList("cuda:all,cpu"), 2));
        Assert.Contains("cluster-cuda", (string)gpu["image"]!);
        var cpu = SiloContainer(Overlay("cpu"));
        Assert.False(Map(cpu, "resources", "limits").ContainsKey("nvidia.com/gpu"));
        Assert.Equal("cpu", List(cpu, "env").Single(e => (string)e["name"]! == "CLUSTER_DEVICES")["value"]);
    }

    /// <summary>The Kubernetes API verbs Orleans' hosting package calls, read from its assembly's member references
    /// (k8s client methods such as ReadNamespacedPodAsync), so a new package version's needs show up here.</summary>
    static HashSet<string> VerbsTheHostingPackageUses()
    {
        using var pe = new PEReader(File.OpenRead(typeof(KubernetesHostingOptions).Assembly.Location));
        var md = pe.GetMetadataReader();
        var verbs = new HashSet<string>();
        foreach (var handle in md.MemberReferences)
        {
            var name = md.GetString(md.GetMemberReference(handle).Name);
            var m = Regex.Match(name, @"^(Read|List|Watch|WatchList|Patch|Delete|Create|Replace)Namespaced(Pod)\w*Async$");
            if (!m.Success) continue;
            verbs.UnionWith(m.Groups[1].Value switch
            {
                "Read" => ["get"], "List" => ["list"], "WatchList" => ["watch", "list"], "Watch" => ["watch"],
                "Patch" => ["patch"], "Delete" => ["delete"], "Create" => ["create"], _ => ["update"],
            });
        }
        return verbs;
    }

    [Fact]
    public void The_role_grants_exactly_the_pod_verbs_kubernetes_hosting_uses()
    {
        var used = VerbsTheHostingPackageUses();
        Assert.Superset(new HashSet<string> { "get", "watch", "patch", "delete" }, used); // the package calls at least these today
        var objects = Overlay("cpu");
        var role = objects.Single(o => Kind(o) == "Role");
        var rule = List(role, "rules").Single();
        Assert.Equal(["pods"], Strings(rule["resources"]));
        var granted = Strings(rule["verbs"]).ToHashSet();
        Assert.Superset(used, granted);
        Assert.Subset(used.Union(["list"]).ToHashSet(), granted); // list comes with watch; nothing beyond
        var binding = objects.Single(o => Kind(o) == "RoleBinding");
        Assert.Equal(Name(role), Map(binding, "roleRef")["name"]);
        var account = (string)List(binding, "subjects").Single()["name"]!;
        Assert.Equal(account, Map(PodTemplate(Silo(objects))!, "spec")["serviceAccountName"]);
        Assert.Contains(objects, o => Kind(o) == "ServiceAccount" && Name(o) == account);
    }

    [Fact]
    public void Only_the_http_api_is_exposed_outside_the_cluster()
    {
        var objects = Overlay("cpu");
        var external = objects.Where(o => Kind(o) == "Service" && Map(o, "spec").GetValueOrDefault("type") as string is "LoadBalancer" or "NodePort").ToList();
        Assert.Single(external);
        Assert.Equal(["http"], List(Map(external[0], "spec"), "ports").Select(p => (string)p["targetPort"]!));
        Assert.DoesNotContain(objects, o => Kind(o) is "Ingress");
    }

    [Fact]
    public void Postgres_keeps_its_data_on_a_volume_and_the_secrets_the_silos_read_exist()
    {
        var objects = Overlay("cpu");
        var postgres = objects.Single(o => Kind(o) == "StatefulSet" && Name(o) == "cluster-postgres");
        var claim = List(Map(postgres, "spec"), "volumeClaimTemplates").Single();
        var mount = List(Containers(postgres).Single(), "volumeMounts").Single();
        Assert.Equal(Name(claim), mount["name"]);
        var secrets = objects.Where(o => Kind(o) == "Secret").ToDictionary(o => Name(o)!, o => Map(o, "stringData").Keys.ToHashSet());
        foreach (var o in objects.Append(Pretrain()))
            foreach (var c in Containers(o))
                foreach (var e in List(c, "env").Where(e => e.ContainsKey("valueFrom")))
                    if ((e["valueFrom"] as Dictionary<string, object?>)?.GetValueOrDefault("secretKeyRef") is Dictionary<string, object?> key)
                        Assert.True(secrets.TryGetValue((string)key["name"]!, out var keys) && keys.Contains((string)key["key"]!), $"{e["name"]}: no secret {key["name"]}/{key["key"]}");
        var tls = secrets["cluster-tls"];
        Assert.Superset(tls, new HashSet<string> { "tls.crt", "tls.key", "ca.crt" });
        var silo = SiloContainer(objects);
        var tlsMount = (string)List(silo, "volumeMounts").Single(m => (string)m["name"]! == "tls")["mountPath"]!;
        Assert.All(new[] { "CLUSTER_TLS_CERT", "CLUSTER_TLS_KEY", "CLUSTER_TLS_CA" },
            n => Assert.StartsWith(tlsMount + "/", (string)List(silo, "env").Single(e => (string)e["name"]! == n)["value"]!));
    }

    [Fact]
    public void Silos_and_the_training_job_share_one_read_write_many_volume()
    {
        var objects = Overlay("cpu");
        var claim = objects.Single(o => Kind(o) == "PersistentVolumeClaim" && Name(o) == "cluster-shared");
        Assert.Equal(["ReadWriteMany"], Strings(Map(claim, "spec")["accessModes"]));
        foreach (var workload in new[] { Silo(objects), Pretrain() })
        {
            var volume = List(Map(PodTemplate(workload)!, "spec"), "volumes").Single(v => v.ContainsKey("persistentVolumeClaim"));
            Assert.Equal("cluster-shared", Map(volume, "persistentVolumeClaim")["claimName"]);
            var mount = Containers(workload).SelectMany(c => List(c, "volumeMounts")).Single(m => Equals(m["name"], volume["name"]));
            Assert.Equal("/data", mount["mountPath"]);
        }
    }

    [Fact]
    public void Availability_and_autoscaling_target_the_silos_on_cpu_and_queue_depth()
    {
        var objects = Overlay("gpu");
        var pdb = objects.Single(o => Kind(o) == "PodDisruptionBudget");
        Assert.Equal("1", Map(pdb, "spec")["maxUnavailable"]);
        var hpa = objects.Single(o => Kind(o) == "HorizontalPodAutoscaler");
        var target = Map(hpa, "spec", "scaleTargetRef");
        Assert.Equal(("StatefulSet", "cluster-silo"), ((string)target["kind"]!, (string)target["name"]!));
        var metrics = List(Map(hpa, "spec"), "metrics").ToList();
        Assert.Contains(metrics, m => (string?)m["type"] == "Resource" && (string?)Map(m, "resource")["name"] == "cpu");
        Assert.Contains(metrics, m => (string?)m["type"] == "Pods" && (string?)Map(m, "pods", "metric")["name"] == ServingMetrics.QueueDepthName);
        Assert.True(int.Parse((string)Map(hpa, "spec")["minReplicas"]!) >= int.Parse((string)Map(Silo(objects), "spec")["replicas"]!));
    }

    [Fact]
    public async Task The_training_job_runs_a_pretrain_command_the_cli_parses()
    {
        var job = Containers(Pretrain()).Single();
        var args = Strings(job["args"]).Select(a => a.Replace("$(POSTGRES_PASSWORD)", "secret")).ToArray();
        Assert.Equal("cluster", Strings(job["command"]).Single());
        Assert.Equal("pretrain", args[0]);
        Assert.StartsWith("postgres:", args[Array.IndexOf(args, "--cluster") + 1]);
        // The real CLI with these arguments: bad usage would exit 2; it gets past parsing and fails on the missing
        // files and unreachable database of this machine instead (exit 1).
        var r = await ClusterCli.RunAsync([.. args, "--connect-timeout", "2"]);
        Assert.True(r.ExitCode == 1, $"exit {r.ExitCode}: {r.Stderr}");
        Assert.DoesNotContain("--help", r.Stderr);
    }

    [Theory]
    [InlineData("cpu.Dockerfile")]
    [InlineData("cpu-prebuilt.Dockerfile")]
    [InlineData("cuda.Dockerfile")]
    public void The_images_expose_the_silos_ports_and_install_the_commands_the_manifests_run(string file)
    {
        var text = File.ReadAllText(Path.Combine(Root, "..", "docker", file));
        var defaults = new SiloSettings();
        var exposed = Regex.Match(text, @"^EXPOSE (.+)$", RegexOptions.Multiline).Groups[1].Value.Split(' ').Select(int.Parse).Order();
        Assert.Equal(new[] { defaults.SiloPort, defaults.GatewayPort, defaults.HttpPort, defaults.BulkPort }.Order(), exposed);
        var siloCommand = Strings(SiloContainer(Overlay(file.StartsWith("cpu") ? "cpu" : "gpu"))["command"]).Single();
        Assert.Contains($"ENTRYPOINT [\"{siloCommand}\"]", text);
        Assert.Contains($"/usr/local/bin/{siloCommand}", text);
        Assert.Contains($"/usr/local/bin/{Strings(Containers(Pretrain()).Single()["command"]).Single()}", text);
        // What the image builds from is in the repository.
        foreach (Match m in Regex.Matches(text, @"^(?:COPY|RUN dotnet publish) (src/[\w/]+)", RegexOptions.Multiline))
            Assert.True(Directory.Exists(Path.Combine(Root, "..", "..", m.Groups[1].Value)), $"{file}: {m.Groups[1].Value} is not in the repository");
        Assert.Contains(file switch { "cpu.Dockerfile" => "libtorch-dev", "cpu-prebuilt.Dockerfile" => "libtorch1.13", _ => "torch.utils.cmake_prefix_path" }, text);
    }
}
