/**
 * The EventBridge Scheduler schedule that starts the nightly export. Scheduler (not an
 * EventBridge rule) because it reads the cron expression in a named time zone, so "02:00 in
 * Oslo" stays 02:00 across daylight-saving changes.
 *
 * The schedule's role may invoke exactly the planner function (no version wildcard) and send
 * undeliverable invocations to the dead-letter queue; nothing else.
 */
import { Duration, Stack, TimeZone } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** The event the planner receives from the schedule. */
export const SCHEDULE_PAYLOAD = { source: 'schedule' } as const;

export interface NightlyExportScheduleProps {
  readonly planner: lambda.IFunction;
  /** EventBridge Scheduler cron expression, e.g. `cron(0 2 * * ? *)`. */
  readonly cronExpression: string;
  /** IANA time zone the cron expression is read in. */
  readonly timeZone: string;
  /** Invocations Scheduler could not deliver after its retries. */
  readonly deadLetterQueue: sqs.IQueue;
  /** @default 8 */
  readonly retryAttempts?: number;
  /** A nightly run that could not start within this long is given up (and dead-lettered). @default 2 hours */
  readonly maxEventAge?: Duration;
  readonly description?: string;
}

export class NightlyExportSchedule extends Construct {
  readonly schedule: scheduler.Schedule;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: NightlyExportScheduleProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.role = new iam.Role(this, 'Role', {
      description: 'Lets EventBridge Scheduler start the nightly export planner',
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: {
            'aws:SourceAccount': stack.account,
            'aws:SourceArn': stack.formatArn({ service: 'scheduler', resource: 'schedule-group', resourceName: 'default' }),
          },
        },
      }),
    });
    this.role.addToPolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [props.planner.functionArn] }));
    this.role.addToPolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [props.deadLetterQueue.queueArn] }));

    // The target would otherwise grant invoke on `function:*` versions as well; its grants go to
    // a view of the role that ignores them, the statements above are the whole policy.
    const target = new targets.LambdaInvoke(props.planner, {
      role: this.role.withoutPolicyUpdates(),
      input: scheduler.ScheduleTargetInput.fromObject(SCHEDULE_PAYLOAD),
      deadLetterQueue: props.deadLetterQueue,
      retryAttempts: props.retryAttempts ?? 8,
      maxEventAge: props.maxEventAge ?? Duration.hours(2),
    });

    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      schedule: scheduler.ScheduleExpression.expression(props.cronExpression, TimeZone.of(props.timeZone)),
      target,
      description: props.description ?? 'Starts the nightly iBinder -> S3 export',
    });
  }
}
